import { open } from 'node:fs/promises'
import { logger } from '@libp2p/logger'
import type { Libp2p } from 'libp2p'
import type { Multiaddr } from '@multiformats/multiaddr'
import { chunkRange, type ContentId, type Manifest } from '@core/content/manifest'
import { ChunkChannel, ChunkServer } from '@core/protocols/chunk'
import { MemoryChunkStore } from '@core/store/memory-store'

/** A throw-away protocol: the chunk server over a MemoryChunkStore, to time the protocol without a disk. */
export const MEMORY_CHUNK_PROTOCOL = '/pipbingo/bench/memory-chunk/1.0.0'

/**
 * Serve `manifest`'s content from memory on `node` under MEMORY_CHUNK_PROTOCOL
 * with the product's ChunkServer (default limits), the bytes read from
 * `path`. Returns the unregister.
 */
export async function handleMemoryChunks (node: Libp2p<any>, path: string, manifest: Manifest): Promise<() => Promise<void>> {
  const store = new MemoryChunkStore()
  const contentId = await store.putManifest(manifest)
  const file = await open(path, 'r')
  try {
    for (let i = 0; i < manifest.hashes.length; i++) {
      const { start, end } = chunkRange(manifest, i)
      const buf = new Uint8Array(end - start)
      await file.read(buf, 0, buf.byteLength, start)
      await store.putChunk(contentId, i, buf)
    }
  } finally {
    await file.close()
  }
  const server = new ChunkServer({ store, log: logger('pipbingo:bench:memory-chunk') })
  await node.handle(MEMORY_CHUNK_PROTOCOL, async (stream, connection) => { await server.handle(stream, connection) })
  return async () => { await node.unhandle(MEMORY_CHUNK_PROTOCOL) }
}

/** A ChunkChannel to MEMORY_CHUNK_PROTOCOL at `addr`. */
export async function memoryChunkChannel (node: Libp2p<any>, addr: Multiaddr): Promise<ChunkChannel> {
  const stream = await node.dialProtocol(addr, MEMORY_CHUNK_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  return new ChunkChannel(stream, { log: logger('pipbingo:bench:memory-chunk:client') })
}

/**
 * Ask `channel` for every chunk of a content, `inFlight` requests at a time
 * (the session's default is 8 per peer), dropping the data: the protocol and
 * the server, without the session and the client's store. Returns the bytes
 * received.
 */
export async function fetchAllChunks (channel: ChunkChannel, contentId: ContentId, manifest: Manifest, inFlight: number): Promise<number> {
  let next = 0
  let bytes = 0
  const n = manifest.hashes.length
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) {
      const i = next++
      const data = await channel.getChunk(contentId, i)
      const { start, end } = chunkRange(manifest, i)
      if (data.byteLength !== end - start) throw new Error(`chunk ${i} came with ${data.byteLength} bytes, expected ${end - start}`)
      bytes += data.byteLength
    }
  }))
  return bytes
}
