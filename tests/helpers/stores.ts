import { MemoryChunkStore } from '@core/store/memory-store'
import { DiskFullError } from '@core/store/errors'

/**
 * A peer that lies: it serves every chunk with one byte flipped (at
 * `offset`, from the end when negative), after storing the right bytes.
 */
export class LyingStore extends MemoryChunkStore {
  constructor (private readonly offset = 0) { super() }

  override async getChunk (contentId: string, index: number): Promise<Uint8Array | undefined> {
    const data = await super.getChunk(contentId, index)
    if (data != null) {
      const at = this.offset < 0 ? data.byteLength + this.offset : this.offset
      data[at] = (data[at] as number) ^ 0x55
    }
    return data
  }
}

/** A store that answers slowly, so a transfer can be interrupted half-way or a peer's slots stay full. */
export class SlowStore extends MemoryChunkStore {
  constructor (private readonly ms: number) { super() }

  override async getChunk (contentId: string, index: number): Promise<Uint8Array | undefined> {
    await new Promise(resolve => setTimeout(resolve, this.ms))
    return await super.getChunk(contentId, index)
  }
}

/** A store on a disk that fills up: it takes `room` chunks, then every put throws DiskFullError (what FsChunkStore throws on ENOSPC). */
export class FillingStore extends MemoryChunkStore {
  private stored = 0
  constructor (private readonly room: number) { super() }

  override async putChunk (contentId: string, index: number, data: Uint8Array): Promise<void> {
    if (this.stored >= this.room) throw new DiskFullError('The disk holding the store is full (ENOSPC)')
    this.stored++ // the room is taken before the write, as on a disk
    await super.putChunk(contentId, index, data)
  }
}
