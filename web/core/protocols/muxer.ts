import { yamux } from '@chainsafe/libp2p-yamux'

/**
 * Streams one connection may have open at once, each way. Our own protocols
 * use a few per peer (chunk ≤ 16, chat ≤ 32, tracker ≤ 8, identify, ping,
 * relay hops); yamux's default of 1,000 let one connection hold a thousand
 * streams' buffers.
 */
export const MAX_STREAMS_PER_CONNECTION = 256

/**
 * What one stream may queue for a peer that does not read (bytes). Our
 * writers wait for `drain` before the next frame (a chunk frame is 256 KiB
 * and a bit, a chat frame ≤ 1 MiB + 1 KiB), so this is never reached by us;
 * it bounds what any other code path could pin: past it, yamux resets the
 * stream (StreamBufferError) instead of growing without end (its default is
 * Infinity).
 */
export const MAX_STREAM_WRITE_BUFFER = 4 * 1024 * 1024

/** The one stream muxer of every pipbingo node (relay, bridge, tab), with the limits above. */
export function muxer (): ReturnType<typeof yamux> {
  return yamux({
    maxInboundStreams: MAX_STREAMS_PER_CONNECTION,
    maxOutboundStreams: MAX_STREAMS_PER_CONNECTION,
    streamOptions: { maxWriteBufferLength: MAX_STREAM_WRITE_BUFFER }
  })
}
