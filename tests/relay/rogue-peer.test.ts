import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { PROTOCOL } from '@core/protocols/chunk'
import { decodeFrame, encodeFrame, FrameType, Status } from '@core/protocols/chunk/codec'
import { MAX_FRAME_BYTES } from '@core/protocols/chunk/constants'
import { chunkOf, digest, makeContent, type TestContent } from '../helpers/content'
import { startRelay, tcpAddr, type TestRelay } from '../helpers/relay'
import {
  blockTarget, chunkRequests, disconnected, fetchChunk, haveRequests, recordUnhandledRejections, roundTrip, settle, startRogue,
  STREAM_WINDOW, until, type Rogue
} from '../helpers/rogue'

const CHUNK = 256 * 1024
const CHUNKS = 16

/**
 * Issue 14: a peer that pipelines requests on a stream it never reads and
 * then leaves (or resets it) must not stop the relay, and must not make it
 * queue more than a bounded amount for it. Real relay, real rogue libp2p
 * peer, loopback TCP.
 */
describe('a rogue peer on /pipbingo/chunk/1.1.0 against a real relay', () => {
  let content: TestContent
  let relay: TestRelay
  let rogue: Rogue
  let unhandled: ReturnType<typeof recordUnhandledRejections>

  beforeEach(async () => {
    content ??= await makeContent(CHUNKS * CHUNK - 1000, { seed: 14, name: 'video_1700000000000.mp4' })
    unhandled = recordUnhandledRejections()
    relay = await startRelay([{ name: content.manifest.name, bytes: content.bytes }])
    rogue = await startRogue()
  })
  afterEach(async () => {
    await rogue?.stop()
    await relay?.close()
    unhandled?.stop()
  })

  /** No unhandled rejection, and a well-behaved peer gets a chunk within a second. */
  async function relayStillServes (): Promise<void> {
    await settle()
    expect(unhandled.summary()).toBe('')
    const data = await fetchChunk(tcpAddr(relay), relay.relay.node.peerId, content.contentId, 3, 1_000)
    expect(digest(data)).toBe(digest(chunkOf(content, 3)))
    await settle()
    expect(unhandled.summary()).toBe('')
  }

  /** The relay's end of the rogue's chunk stream. */
  function relayStream (): Stream | undefined {
    return relay.relay.node.getConnections(rogue.node.peerId).flatMap(c => c.streams).find(s => s.protocol === PROTOCOL)
  }

  it.each(['hangs up', 'vanishes'] as const)('pipelines 300 CHUNK requests on a stream it never reads, then %s', async (how) => {
    const { stream, connection } = await rogue.open(tcpAddr(relay))
    await blockTarget(stream, content.contentId, CHUNKS)
    // the rest of the pipeline arrives while the relay's writes cannot go out
    stream.send(chunkRequests(content.contentId, 300, CHUNKS, 9))
    await roundTrip(connection)
    const gone = disconnected(relay.relay.node, rogue.node.peerId)
    if (how === 'hangs up') await connection.close()
    else connection.abort(new Error('the rogue vanished'))
    await gone
    await relayStillServes()
  })

  it('sends 300 HAVE requests and leaves, ten times (answers blocked, or leaving at once)', async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      // the relay refuses a 6th connection from one host within a second
      if (attempt > 0) await new Promise(resolve => setTimeout(resolve, 210))
      const { stream, connection } = await rogue.open(tcpAddr(relay))
      if (attempt % 2 === 0) await blockTarget(stream, content.contentId, CHUNKS)
      stream.send(haveRequests(content.contentId, 300, 100))
      if (attempt % 2 === 0) await roundTrip(connection)
      const gone = disconnected(relay.relay.node, rogue.node.peerId)
      if (attempt % 4 < 2) await connection.close()
      else connection.abort(new Error('the rogue vanished'))
      await gone
      await settle()
      expect(unhandled.summary(), `attempt ${attempt}`).toBe('')
    }
    await new Promise(resolve => setTimeout(resolve, 210))
    await relayStillServes()
  })

  it('resets the stream in the middle of a frame, with answers waiting to be written', async () => {
    const { stream, connection } = await rogue.open(tcpAddr(relay))
    await blockTarget(stream, content.contentId, CHUNKS)
    stream.send(chunkRequests(content.contentId, 300, CHUNKS, 9))
    stream.send(encodeFrame({ type: FrameType.ChunkRequest, id: 1000, contentId: content.contentId, index: 0 }).subarray(0, 20))
    await roundTrip(connection)
    stream.abort(new Error('the rogue resets its stream'))
    await until(() => relayStream() == null, 'the relay to drop the stream')
    await relayStillServes()
  })

  it('floods 2,000 requests on a stream it never reads: the relay drops the stream', async () => {
    const { stream, connection } = await rogue.open(tcpAddr(relay))
    await blockTarget(stream, content.contentId, CHUNKS)
    // in reads of 250 (a single read of more than 16 KiB of requests is refused as such)
    for (let batch = 0; batch < 8 && stream.status === 'open'; batch++) {
      const firstId = 9 + batch * 250
      stream.send(batch % 2 === 0 ? chunkRequests(content.contentId, 250, CHUNKS, firstId) : haveRequests(content.contentId, 250, firstId))
      await roundTrip(connection)
    }
    await until(() => relayStream() == null, 'the relay to drop the stream')
    expect(stream.status).toBe('reset')
    await relayStillServes()
  })

  it('reads once and then stops: the relay keeps at most one frame for it in the stream buffer, and loses none', async () => {
    const { stream, connection } = await rogue.open(tcpAddr(relay))
    await blockTarget(stream, content.contentId, CHUNKS)
    // one window update and no more: the relay's stream sees its first drain
    stream.resume()
    stream.pause()
    await until(() => stream.readBufferLength >= 2 * STREAM_WINDOW, 'the relay to fill the second window')
    stream.send(chunkRequests(content.contentId, 56, CHUNKS, 9))
    await roundTrip(connection)
    const server = relayStream()
    expect(server).toBeDefined()
    // a server that does not wait for the peer puts all 64 answers (16 MiB)
    // in this buffer within milliseconds; no event says "nothing more will
    // be queued", so watch it for half a second
    let most = 0
    for (const end = Date.now() + 500; Date.now() < end;) {
      most = Math.max(most, server!.writeBufferLength)
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(MAX_FRAME_BYTES + 8)

    // reading again brings every answer: they waited, none was dropped
    stream.resume()
    const decoder = new LengthPrefixedDecoder({ maxDataLength: MAX_FRAME_BYTES, maxBufferSize: 4 * MAX_FRAME_BYTES })
    const answered = new Map<number, Status>()
    const reading = (async () => {
      for await (const buf of stream) {
        for (const raw of decoder.decode(buf)) {
          const frame = decodeFrame(raw)
          if (frame.type === FrameType.ChunkResponse) answered.set(frame.id, frame.status)
        }
        if (answered.size === 64) return
      }
    })()
    const timer = setTimeout(() => { stream.abort(new Error(`${answered.size}/64 answers after 5 s`)) }, 5_000)
    await reading.finally(() => { clearTimeout(timer) })
    expect([...answered.values()].filter(s => s === Status.Ok)).toHaveLength(64)
    await relayStillServes()
  })
})
