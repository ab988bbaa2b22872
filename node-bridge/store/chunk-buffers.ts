/**
 * Buffers for the store's own copy of a chunk it is about to verify and
 * write (see FsChunkStore.putChunk), reused rather than allocated per chunk:
 * a 256 KiB allocation per chunk is what keeps the garbage collector busy.
 * A buffer is handed back only once its write has returned and its hash was
 * taken, so nothing reads it when it is reused, and it never leaves the store.
 */
export class ChunkBuffers {
  private readonly free: Uint8Array[] = []

  /** `keep`: at most this many idle buffers are kept, the most recent (more in use are allocated, and dropped when done). */
  constructor (private readonly keep = 16) {}

  /** A copy of `data` at the start of a buffer of `capacity` bytes (a manifest's chunk size). */
  copy (data: Uint8Array, capacity: number): Uint8Array {
    if (data.byteLength > capacity) return data.slice() // no chunk is that long: verification refuses it
    const index = this.free.findIndex(b => b.byteLength === capacity)
    const buffer = index >= 0 ? this.free.splice(index, 1)[0]! : new Uint8Array(capacity)
    buffer.set(data)
    return buffer.subarray(0, data.byteLength)
  }

  /** Hand back a copy once nothing reads it any more. */
  release (bytes: Uint8Array): void {
    if (bytes.byteOffset !== 0) return
    if (this.free.length >= this.keep) this.free.shift()
    this.free.push(new Uint8Array(bytes.buffer, 0, bytes.buffer.byteLength))
  }
}
