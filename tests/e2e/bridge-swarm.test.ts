import { createHash } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { CatalogueEntry } from '../../relay/library/index'
import { postDownload, startBridge, type TestBridge } from '../helpers/bridge'
import { openApp, startWebRig, statsOf, waitPlaying, type WebRig } from '../helpers/web'

/**
 * Bridges and browser tabs are one swarm: a tab gets a video from a bridge,
 * a bridge gets one from a tab. Real relay, real bridges (createBridge, in
 * this process), real Chromium processes: nothing is mocked.
 *
 * "Only X holds it" is made true, not assumed. The relay's catalogue lists
 * only the files of its library, and the product has no way yet to list a
 * content no library holds (a browser cannot publish; a file dropped in a
 * bridge's cache is seeded but never listed). So each test starts with the
 * video in the relay's library, lets the one holder under test (a bridge, a
 * tab) fetch it from the origin, and then the relay LOSES THE FILE: it is
 * deleted from the library folder while the relay runs. The catalogue entry
 * and the manifest stay (both are in memory until a restart: the README's
 * "the relay lost the file"), but the origin has no bytes to serve any
 * more — its HTTP fallback answers 404, checked here, and its chunk server
 * finds the file gone and answers "unavailable" (its HAVE still claims
 * every chunk: a consumer that asks gets nothing). The consumer is a fresh
 * peer (fresh browser context or fresh bridge folder): it holds nothing.
 * The proof that the holder under test was the source is in numbers from
 * both ends: the relay's /metrics count ZERO bytes served (libp2p + HTTP)
 * during the consumer's whole transfer, the consumer counts 100 % of the
 * bytes from that holder's peer id, the holder counts them as uploaded, and
 * the bytes match the file's SHA-256.
 *
 * Why the deletion matters: with the file left in place, these consumers
 * still took nothing from the origin on this machine (the swarm asks peers
 * first, and the holder answered before the player's first read), so the
 * zero alone would show a scheduling outcome. With the file gone, the
 * holder under test is the only place the bytes can come from: without it,
 * the video cannot play and the download cannot finish.
 */
describe('a bridge and a browser tab serve each other', () => {
  let rig: WebRig
  let browserA: Browser
  let browserB: Browser
  const bridges: TestBridge[] = []
  const files = new Map<string, { entry: CatalogueEntry, sha: string, size: number }>()

  beforeAll(async () => {
    rig = await startWebRig(['library/sample.mp4', 'tests/fixtures/seek-long.mp4'])
    for (const [name, path] of [['sample.mp4', 'library/sample.mp4'], ['seek-long.mp4', 'tests/fixtures/seek-long.mp4']] as const) {
      const bytes = await readFile(path)
      files.set(name, { entry: rig.relay.library.byFilename(name)!, sha: sha256(bytes), size: bytes.byteLength })
    }
    browserA = await rig.newBrowser()
    browserB = await rig.newBrowser()
  }, 120_000)

  afterAll(async () => {
    for (const b of bridges) await b.close().catch(() => {})
    await rig?.close()
  })

  function sha256 (bytes: Uint8Array): string {
    return createHash('sha256').update(bytes).digest('hex')
  }

  function file (name: string): { entry: CatalogueEntry, sha: string, size: number } {
    const f = files.get(name)
    if (f == null) throw new Error(`no fixture ${name}`)
    return f
  }

  async function originServed (): Promise<number> {
    return await rig.metric('pipbingo_libp2p_bytes_served_total') + await rig.metric('pipbingo_http_bytes_served_total')
  }

  async function newBridge (): Promise<TestBridge> {
    const b = await startBridge({ httpUrl: rig.relay.httpUrl() })
    bridges.push(b)
    return b
  }

  /**
   * The relay loses the file of `name`: deleted from its library while it
   * runs. Still listed, its manifest still served; its bytes answer 404.
   */
  async function relayLosesFile (name: string): Promise<void> {
    const { entry } = file(name)
    const path = rig.relay.library.fileOf(entry.contentId)?.path
    expect(path).toBe(join(rig.relay.library.dir, name))
    const base = rig.relay.httpUrl()
    const peerOnly = async (): Promise<boolean> => ((await (await fetch(`${base}/list`)).json()) as Array<CatalogueEntry & { origin: boolean }>)
      .some(e => e.contentId === entry.contentId && !e.origin)
    // the relay watches its library: once the file is gone, the video stays listed for the peers that hold it, origin no more
    const converted = new Promise<void>(resolve => {
      const off = rig.relay.catalogue.onChange(() => { void peerOnly().then(yes => { if (yes) { off(); resolve() } }) })
    })
    await rm(path!)
    await converted
    expect((await fetch(`${base}/videos/${name}`)).status).toBe(404)
    expect((await fetch(`${base}/manifest/${entry.contentId}`)).status).toBe(200)
  }

  /** Until the relay's tracker lists `peer` as holding all of `contentId` (at addresses matching `addr`, as a find gives them). */
  async function trackerKnows (peer: string, contentId: string, addr: RegExp): Promise<void> {
    await expect.poll(async () => (await rig.relay.node.services.tracker.providers(contentId)).find(h => h.peer === peer && h.complete && h.addrs.some(a => addr.test(a))) != null,
      { timeout: 15_000, interval: 100 }).toBe(true)
  }

  async function waitComplete (page: Page, contentId: string): Promise<any> {
    await page.waitForFunction((id) => (window.pipbingo.stats() as any)?.contents.find((c: any) => c.contentId === id)?.complete === true, contentId, { timeout: 60_000, polling: 100 })
    return await statsOf(page)
  }

  /** SHA-256 of the whole video as the page's service worker serves it. */
  async function streamedSha (page: Page, contentId: string): Promise<string> {
    return await page.evaluate(async (id) => {
      const s = window.pipbingo.stats() as any
      const res = await fetch(`/stream/${s.profile}/${id}`)
      const digest = await crypto.subtle.digest('SHA-256', await res.arrayBuffer())
      return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('')
    }, contentId)
  }

  it('a tab plays a video that only a bridge holds: every byte from the bridge, none from the relay', async () => {
    const { entry, sha, size } = file('sample.mp4')
    const bridge = await newBridge()
    const bridgeId = bridge.bridge.node.peerId.toString()
    expect((await postDownload(bridge.url, 'sample.mp4')).status).toBe(200)
    await bridge.waitFor('sample.mp4', 'seeding')
    await bridge.bridge.announcer.settled()
    await trackerKnows(bridgeId, entry.contentId, /./)
    await relayLosesFile('sample.mp4')

    const servedBefore = await originServed()
    const uploadedBefore = (await (await bridge.api('/stats')).json()).bytes_uploaded as number
    const tab = await openApp(browserB, `${rig.relay.httpUrl()}/?play=sample.mp4`)
    await waitPlaying(tab)
    const t0 = await tab.locator('video').evaluate((v: HTMLVideoElement) => v.currentTime)
    await tab.waitForFunction((t) => (document.querySelector('video') as HTMLVideoElement).currentTime > t + 0.5, t0, { timeout: 20_000 })
    const stats = await waitComplete(tab, entry.contentId)
    const link = stats.peers.find((p: any) => p.id === bridgeId)
    console.log(`tab ← bridge: ${JSON.stringify(link)}; chunk map ${stats.current.map}; bySource ${JSON.stringify(stats.bySource)}`)

    expect(await originServed() - servedBefore).toBe(0)
    expect(stats.bySource[bridgeId]).toBe(size)
    expect(stats.bytesFromPeers).toBe(size)
    expect(stats.bytesFromOrigin).toBe(0)
    expect(stats.current.map).toMatch(/^P+$/)
    expect(link?.direct).toBe(true)
    const uploaded = (await (await bridge.api('/stats')).json()).bytes_uploaded as number
    expect(uploaded - uploadedBefore).toBeGreaterThanOrEqual(size)
    expect(await streamedSha(tab, entry.contentId)).toBe(sha)
    // still playing: the player got its bytes, not an error
    expect(await tab.locator('video').evaluate((v: HTMLVideoElement) => v.error)).toBeNull()
  }, 120_000)

  it('a bridge downloads a video that only a browser tab holds: every byte from the tab, none from the relay', async () => {
    const { entry, sha, size } = file('seek-long.mp4')
    const tab = await openApp(browserA, `${rig.relay.httpUrl()}/?play=seek-long.mp4`)
    await waitPlaying(tab)
    const held = await waitComplete(tab, entry.contentId)
    const tabId = held.peerId as string
    // the tab announced it holds all of it, with an address a bridge can dial (its reservation, then WebRTC)
    await trackerKnows(tabId, entry.contentId, /\/p2p-circuit\/webrtc/)
    await relayLosesFile('seek-long.mp4')

    const servedBefore = await originServed()
    const tabUploadedBefore = held.bytesUploaded as number
    const bridge = await newBridge()
    expect((await postDownload(bridge.url, 'seek-long.mp4')).status).toBe(200)
    const done = await bridge.waitFor('seek-long.mp4', 'seeding', 'failed', 'cancelled')
    expect(done.status).toBe('seeding')
    const status = (await (await bridge.api('/status')).json())['seek-long.mp4']
    const bridgeStats = await (await bridge.api('/stats')).json()
    const links = bridge.bridge.node.getConnections().filter(c => c.remotePeer.toString() === tabId)
      .map(c => ({ addr: c.remoteAddr.toString(), limited: c.limits != null }))
    console.log(`bridge ← tab: ${JSON.stringify(links)}; /status ${JSON.stringify(status)}`)

    expect(await originServed() - servedBefore).toBe(0)
    expect(status.bytes_from_peers).toBe(size)
    expect(status.bytes_from_origin).toBe(0)
    expect(status.progress).toBe(100)
    expect(bridgeStats.bytes_from_peers).toBe(size)
    expect(bridgeStats.bytes_from_origin).toBe(0)
    expect(bridge.bridge.transfer.snapshot().bySource[tabId]).toBe(size)
    // over a direct WebRTC connection: the relayed one cannot carry more than signalling
    expect(links.some(l => !l.limited && l.addr.includes('/webrtc'))).toBe(true)
    const tabUploaded = (await statsOf(tab)).bytesUploaded as number
    expect(tabUploaded - tabUploadedBefore).toBeGreaterThanOrEqual(size)
    expect(sha256(await readFile(join(bridge.dir, 'cache', 'seek-long.mp4')))).toBe(sha)
  }, 120_000)
})
