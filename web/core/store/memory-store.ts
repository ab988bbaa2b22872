import { checkIndex, contentIdOf, verifyChunk, type ContentId, type Manifest } from '../content/manifest'
import { Bitfield } from '../swarm/bitfield'
import { copyBytes } from '../util/bytes'
import { UnknownContentError } from './errors'
import { ChunkListeners, type ChunkListener } from './listeners'
import type { ChunkStore } from './types'

interface Entry {
  manifest: Manifest
  have: Bitfield
  chunks: Map<number, Uint8Array>
}

/** A ChunkStore in memory: for tests, and for tabs that may not persist. */
export class MemoryChunkStore implements ChunkStore {
  private readonly entries = new Map<ContentId, Entry>()
  private readonly listeners = new ChunkListeners()

  async putManifest (manifest: Manifest): Promise<ContentId> {
    const contentId = await contentIdOf(manifest)
    if (!this.entries.has(contentId)) {
      this.entries.set(contentId, { manifest, have: new Bitfield(manifest.hashes.length), chunks: new Map() })
    }
    return contentId
  }

  async getManifest (contentId: ContentId): Promise<Manifest | undefined> {
    return this.entries.get(contentId)?.manifest
  }

  async listContents (): Promise<ContentId[]> {
    return [...this.entries.keys()]
  }

  async putChunk (contentId: ContentId, index: number, data: Uint8Array): Promise<void> {
    const entry = this.entries.get(contentId)
    if (entry == null) throw new UnknownContentError()
    checkIndex(entry.manifest, index)
    // copy first: what is stored is exactly what was verified, whatever the caller does with its buffer
    const copy = copyBytes(data)
    await verifyChunk(entry.manifest, index, copy)
    // held already (a concurrent put of the same chunk won), or deleted meanwhile: nothing lands
    if (entry.have.has(index) || this.entries.get(contentId) !== entry) return
    entry.chunks.set(index, copy)
    entry.have.set(index)
    this.listeners.emit(contentId, index)
  }

  async getChunk (contentId: ContentId, index: number): Promise<Uint8Array | undefined> {
    return this.entries.get(contentId)?.chunks.get(index)?.slice()
  }

  async have (contentId: ContentId): Promise<Bitfield | undefined> {
    return this.entries.get(contentId)?.have.clone()
  }

  async deleteContent (contentId: ContentId): Promise<void> {
    this.entries.delete(contentId)
  }

  onChunk (contentId: ContentId, listener: ChunkListener): () => void {
    return this.listeners.add(contentId, listener)
  }
}
