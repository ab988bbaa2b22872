import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Uint8ArrayList } from 'uint8arraylist'
import { chunkProtocol, PROTOCOL, type ChunkProtocol } from '@core/protocols/chunk'
import { encodeFrame, FrameType } from '@core/protocols/chunk/codec'
import { MemoryChunkStore } from '@core/store/memory-store'
import { lpStream } from '@libp2p/utils'
import { PROTOCOL as TRACKER_PROTOCOL } from '@core/protocols/tracker'
import { createTestNode } from './nodes'

/**
 * A peer built from the project's own stack (TCP, noise, yamux, identify:
 * `createTestNode`) that speaks `/pipbingo/chunk/1.1.0` badly on purpose:
 * it opens the protocol by hand and writes raw frames, so it can pipeline
 * more than any ChunkChannel would, stop reading, reset mid-frame or vanish.
 */
export interface Rogue {
  node: Libp2p
  /** Open the chunk protocol to `addr` (a multiaddr ending in /p2p/<id>). */
  open(addr: Multiaddr): Promise<{ stream: Stream, connection: Connection }>
  stop(): Promise<void>
}

export async function startRogue (): Promise<Rogue> {
  const node = await createTestNode()
  return {
    node,
    async open (addr) {
      const connection = await node.dial(addr, { signal: AbortSignal.timeout(5_000) })
      const stream = await connection.newStream(PROTOCOL, { signal: AbortSignal.timeout(5_000) })
      return { stream, connection }
    },
    async stop () { await node.stop() }
  }
}

/**
 * Send one tracker request exactly as given (whatever addresses it names)
 * from `node` to the tracker at `addr`, and return the answer.
 */
export async function announceRaw (node: Libp2p, addr: Multiaddr, request: unknown): Promise<unknown> {
  const signal = AbortSignal.timeout(5_000)
  const stream = await node.dialProtocol(addr, TRACKER_PROTOCOL, { signal })
  const lp = lpStream(stream)
  await lp.write(new TextEncoder().encode(JSON.stringify(request)), { signal })
  const answer = JSON.parse(new TextDecoder().decode((await lp.read({ signal })).subarray())) as unknown
  await stream.close({ signal }).catch(() => {})
  return answer
}

/** yamux's initial stream window: all that a peer which never reads lets through. */
export const STREAM_WINDOW = 256 * 1024

/**
 * Stop reading `stream` (yamux gives no window back) and ask for 8 chunks
 * (of at least 32 KiB each): resolves once the target has filled the
 * window, so that its next writes on this stream cannot go out.
 */
export async function blockTarget (stream: Stream, contentId: string, chunks: number): Promise<void> {
  stream.pause()
  stream.send(chunkRequests(contentId, 8, chunks))
  await until(() => stream.readBufferLength >= STREAM_WINDOW, 'the target to fill the stream window')
}

/** `count` CHUNK_REQUEST frames, ids from `firstId`, cycling over `chunks` indices, as one buffer. */
export function chunkRequests (contentId: string, count: number, chunks: number, firstId = 1): Uint8ArrayList {
  const out = new Uint8ArrayList()
  for (let i = 0; i < count; i++) out.append(encodeFrame({ type: FrameType.ChunkRequest, id: firstId + i, contentId, index: i % chunks }))
  return out
}

/** `count` HAVE_REQUEST frames, ids from `firstId`, as one buffer. */
export function haveRequests (contentId: string, count: number, firstId = 1): Uint8ArrayList {
  const out = new Uint8ArrayList()
  for (let i = 0; i < count; i++) out.append(encodeFrame({ type: FrameType.HaveRequest, id: firstId + i, contentId }))
  return out
}

/**
 * One ping over `connection`, on a stream of its own. The target reads a
 * connection's bytes in order and handles what it read before it answers
 * a later stream, so once this resolves it has processed every frame sent
 * before on any stream of the connection: an event to await where the
 * rogue's own stream (which it never reads) gives none.
 */
export async function roundTrip (connection: Connection, timeoutMs = 5_000): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await connection.newStream('/ipfs/ping/1.0.0', { signal })
  stream.send(crypto.getRandomValues(new Uint8Array(32)))
  let got = 0
  for await (const buf of stream) {
    got += buf.byteLength
    if (got >= 32) break
  }
  if (got < 32) throw new Error('the ping stream ended early')
  await stream.close({ signal })
}

/** Resolves once `target` has seen `peer` disconnect (register before hanging up). */
export async function disconnected (target: Libp2p, peer: PeerId, timeoutMs = 5_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { done(); reject(new Error(`no peer:disconnect for ${peer.toString()} in ${timeoutMs} ms`)) }, timeoutMs)
    const onDisconnect = (evt: CustomEvent<PeerId>): void => { if (evt.detail.equals(peer)) { done(); resolve() } }
    const done = (): void => { clearTimeout(timer); target.removeEventListener('peer:disconnect', onDisconnect) }
    target.addEventListener('peer:disconnect', onDisconnect)
  })
}

/**
 * Wait for a condition that no event announces (bytes piling up in a
 * paused stream's buffer), checking every 10 ms up to `timeoutMs`.
 */
export async function until (condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

/**
 * A well-behaved client (a fresh node with the real ChunkChannel) fetches
 * chunk `index` from `addr`; dialling included, it must finish within
 * `withinMs`. Returns the bytes.
 */
export async function fetchChunk (addr: Multiaddr, peer: PeerId, contentId: string, index: number, withinMs = 1_000): Promise<Uint8Array> {
  const client = await createTestNode({ chunk: chunkProtocol({ store: new MemoryChunkStore() }) }) as unknown as Libp2p<{ chunk: ChunkProtocol }>
  try {
    const signal = AbortSignal.timeout(withinMs)
    const channel = await client.services.chunk.channel(peer, { addrs: [addr], signal })
    return await channel.getChunk(contentId, index, { signal })
  } finally {
    await client.stop()
  }
}

/**
 * Records the process's unhandled rejections while a test runs (vitest
 * reports them too, but against the file; this pins them on the test).
 * `summary()` is '' when there were none, else the count and the first
 * one's stack.
 */
export function recordUnhandledRejections (): { rejections: unknown[], summary(): string, stop(): void } {
  const rejections: unknown[] = []
  const listener = (reason: unknown): void => { rejections.push(reason) }
  process.on('unhandledRejection', listener)
  return {
    rejections,
    summary () {
      if (rejections.length === 0) return ''
      const first = rejections[0] as Error | undefined
      const names = [...new Set(rejections.map(r => (r as Error)?.name ?? String(r)))].join(', ')
      return `${rejections.length} unhandled rejection(s) (${names}); the first: ${first?.stack ?? String(first)}`
    },
    stop: () => { process.off('unhandledRejection', listener) }
  }
}

/** Let pending rejections surface: Node reports them after the microtask queue drains. */
export async function settle (): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
  await new Promise(resolve => setImmediate(resolve))
}

/**
 * What this process still holds once everything unreachable is collected:
 * the V8 heap in use after full garbage collections, plus ArrayBuffers
 * (chunk buffers, stream queues), in bytes. Unlike RSS, which keeps what
 * the allocator was given after the memory is freed, this goes back down
 * when state is let go, so a bound on it says whether an attack left
 * something behind. (`--expose-gc` turned on at run time: V8 then gives
 * `gc` to a new context.)
 */
export async function retainedBytes (): Promise<number> {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  // finalizers and weak callbacks run between passes and free more
  for (let pass = 0; pass < 3; pass++) {
    gc()
    await settle()
  }
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}
