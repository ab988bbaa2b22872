import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { chunkOf, digest, makeContent, type TestContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { startBridge, type TestBridge } from '../helpers/bridge'
import {
  blockTarget, chunkRequests, disconnected, fetchChunk, recordUnhandledRejections, roundTrip, settle, startRogue
} from '../helpers/rogue'

const NAME = 'video_1700000000001.mp4'
const CHUNKS = 16

/**
 * Issue 14 against the bridge: a peer that pipelines CHUNK requests over
 * TCP on a stream it never reads, then hangs up, must not stop the daemon.
 */
describe('a rogue peer on /pipbingo/chunk/1.1.0 against a real bridge over TCP', () => {
  let content: TestContent
  let relay: TestRelay
  let bridge: TestBridge
  let dir: string

  beforeAll(async () => {
    content = await makeContent(CHUNKS * 256 * 1024 - 1000, { seed: 15, name: NAME })
    relay = await startRelay([])
    // a complete file in the cache: the bridge seeds it from start-up
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-bridge-'))
    await mkdir(join(dir, 'cache'))
    await writeFile(join(dir, 'cache', NAME), content.bytes)
    bridge = await startBridge(relay, { dir })
  })
  afterAll(async () => {
    await bridge?.close()
    await relay?.close()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('pipelines 300 CHUNK requests on a stream it never reads, then hangs up: the bridge goes on serving', async () => {
    const unhandled = recordUnhandledRejections()
    const rogue = await startRogue()
    try {
      const node = bridge.bridge.node
      const tcp = node.getMultiaddrs().find(a => a.toString().includes('/tcp/') && !a.toString().includes('/ws') && !a.toString().includes('/p2p-circuit'))
      expect(tcp).toBeDefined()
      const addr = multiaddr(tcp!.toString())
      const { stream, connection } = await rogue.open(addr)
      await blockTarget(stream, content.contentId, CHUNKS)
      stream.send(chunkRequests(content.contentId, 300, CHUNKS, 9))
      await roundTrip(connection)
      const gone = disconnected(node, rogue.node.peerId)
      await connection.close()
      await gone
      await settle()
      expect(unhandled.summary()).toBe('')

      const data = await fetchChunk(addr, node.peerId, content.contentId, 5, 1_000)
      expect(digest(data)).toBe(digest(chunkOf(content, 5)))
      await settle()
      expect(unhandled.summary()).toBe('')
    } finally {
      await rogue.stop()
      unhandled.stop()
    }
  })
})
