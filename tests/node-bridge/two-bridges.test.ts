import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest, makeContent, type TestContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { postDownload, startBridge, type TestBridge } from '../helpers/bridge'

const NAME = 'video_shared.mp4'

describe('two bridges: A from the origin, B mostly from A', () => {
  let content: TestContent
  let relay: TestRelay
  const bridges: TestBridge[] = []
  const served = async (): Promise<number> => await relay.metric('pipbingo_libp2p_bytes_served_total') + await relay.metric('pipbingo_http_bytes_served_total')

  beforeAll(async () => {
    content = await makeContent(48 * 256 * 1024 + 1234, { seed: 21, name: NAME })
    relay = await startRelay([{ name: NAME, bytes: content.bytes }])
  })
  afterAll(async () => {
    for (const b of bridges) await b.close()
    await relay?.close()
  })

  it('B downloads with most bytes from A, both files are byte-identical, and B then seeds', async () => {
    const a = await startBridge(relay)
    bridges.push(a)
    expect((await postDownload(a.url, NAME)).body.status).toBe('started')
    await a.waitFor(NAME, 'seeding')
    // the origin served the file once, to A
    expect(await served()).toBe(content.manifest.size)
    const aStatus = (await (await a.api('/status')).json())[NAME]
    expect(aStatus.bytes_from_origin).toBe(content.manifest.size)
    // A tells the tracker it seeds
    await a.bridge.announcer.settled()
    expect(isSeeder(relay, content.contentId, a.bridge.node.peerId.toString())).toBe(true)

    const b = await startBridge(relay)
    bridges.push(b)
    expect((await postDownload(b.url, NAME)).body.status).toBe('started')
    await b.waitFor(NAME, 'seeding')

    const fromOriginForB = await served() - content.manifest.size
    expect(fromOriginForB).toBeLessThan(0.2 * content.manifest.size)
    const bStatus = (await (await b.api('/status')).json())[NAME]
    expect(bStatus.bytes_from_peers).toBeGreaterThan(0.8 * content.manifest.size)
    expect(bStatus.bytes_from_peers + bStatus.bytes_from_origin).toBe(content.manifest.size)
    const aStats = await (await a.api('/stats')).json()
    expect(aStats.bytes_uploaded).toBe(bStatus.bytes_from_peers)

    // byte-identical in both caches, and as streamed
    const fileA = await readFile(join(a.dir, 'cache', NAME))
    const fileB = await readFile(join(b.dir, 'cache', NAME))
    expect(digest(fileA)).toBe(digest(content.bytes))
    expect(digest(fileB)).toBe(digest(content.bytes))
    expect(digest(new Uint8Array(await (await b.api(`/stream/${NAME}`)).arrayBuffer()))).toBe(digest(content.bytes))

    // B seeds: counted as such, and the tracker lists it as a complete holder
    expect(await (await b.api('/stats')).json()).toMatchObject({ seeding_files: 1, downloading_files: 0, cache_files: 1 })
    await b.bridge.announcer.settled()
    expect(isSeeder(relay, content.contentId, b.bridge.node.peerId.toString())).toBe(true)
  })
})

function isSeeder (relay: TestRelay, contentId: string, peer: string): boolean {
  return relay.relay.registry.find(contentId).some(p => p.peer === peer && p.complete)
}
