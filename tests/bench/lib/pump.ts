import { randomBytes } from 'node:crypto'
import type { Connection, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'

/** A throw-away protocol: the server sends `size` bytes and closes; nothing else. */
export const PUMP_PROTOCOL = '/pipbingo/bench/pump/1.0.0'

const PIECE = 256 * 1024
const TIMEOUT_MS = 120_000

/**
 * Register the pump on `node` (the relay's node): every stream opened to it
 * gets `size` bytes in 256 KiB pieces, sent with `send()` and paced by
 * `onDrain()`, like the chunk server sends chunks. Returns the unregister.
 */
export async function handlePump (node: Libp2p<any>, size: number): Promise<() => Promise<void>> {
  const piece = new Uint8Array(randomBytes(PIECE))
  await node.handle(PUMP_PROTOCOL, async (stream: Stream) => {
    try {
      for (let sent = 0; sent < size; sent += PIECE) {
        const n = Math.min(PIECE, size - sent)
        if (!stream.send(n === PIECE ? piece : piece.subarray(0, n))) await stream.onDrain({ signal: AbortSignal.timeout(TIMEOUT_MS) })
      }
      await stream.close({ signal: AbortSignal.timeout(TIMEOUT_MS) })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  })
  return async () => { await node.unhandle(PUMP_PROTOCOL) }
}

export interface PumpResult {
  bytes: number
  ms: number
  /** The connection the stream ran on (to check it is the direct TCP + noise + yamux one). */
  connection: Pick<Connection, 'remoteAddr' | 'encryption' | 'multiplexer' | 'limits'>
}

/**
 * Open a pump stream to the node at `addr` (reusing the connection to it if
 * there is one) and read everything, counting bytes.
 */
export async function readPump (node: Libp2p<any>, addr: Multiaddr): Promise<PumpResult> {
  const signal = AbortSignal.timeout(TIMEOUT_MS)
  const started = performance.now()
  const stream = await node.dialProtocol(addr, PUMP_PROTOCOL, { signal })
  const peer = addr.getComponents().find(c => c.name === 'p2p')?.value
  const connection = node.getConnections().find(c => c.remotePeer.toString() === peer && c.streams.some(s => s.id === stream.id))
  if (connection == null) throw new Error('the pump stream is on no connection to the peer')
  let bytes = 0
  for await (const buf of stream) bytes += buf.byteLength
  const ms = performance.now() - started
  return { bytes, ms, connection }
}
