import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { openApp, startWebRig, statsOf, waitPlaying, type WebRig } from '../helpers/web'
import { describeWithNamespaces } from '../helpers/describe-netns'

/** WebRTC between browsers needs network namespaces: skipped, with the reason, where they cannot be made. */
const describe = await describeWithNamespaces()

/**
 * Tabs are peers. Real relay, real Chromium processes, real WebRTC, real
 * IndexedDB and a real service worker: nothing here is mocked.
 */
describe('browser tabs watch and share over WebRTC', () => {
  let rig: WebRig
  let browserA: Browser
  let browserB: Browser
  let tabA: Page
  let sample: { id: string, size: number, sha: string }

  beforeAll(async () => {
    rig = await startWebRig(['library/sample.mp4', 'tests/fixtures/seek-long.mp4'], { netns: true })
    const bytes = await readFile('library/sample.mp4')
    const entry = rig.relay.library.byFilename('sample.mp4')!
    sample = { id: entry.contentId, size: bytes.byteLength, sha: createHash('sha256').update(bytes).digest('hex') }
    browserA = await rig.newBrowser()
    browserB = await rig.newBrowser()
  }, 120_000)

  afterAll(async () => { await rig?.close() })

  /** SHA-256 of the whole video as the page's service worker serves it. */
  async function streamedSha (page: Page, contentId: string): Promise<string> {
    return await page.evaluate(async (id) => {
      const s = window.pipbingo.stats() as any
      const res = await fetch(`/stream/${s.profile}/${id}`)
      const digest = await crypto.subtle.digest('SHA-256', await res.arrayBuffer())
      return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('')
    }, contentId)
  }

  async function waitComplete (page: Page, contentId: string): Promise<any> {
    await page.waitForFunction((id) => (window.pipbingo.stats() as any)?.contents.find((c: any) => c.contentId === id)?.complete === true, contentId, { timeout: 30_000, polling: 100 })
    return await statsOf(page)
  }

  it('tab A plays the sample: playing fires, time advances, its bytes are the origin\'s', async () => {
    tabA = await openApp(browserA, `${rig.relay.httpUrl()}/?play=sample.mp4`)
    await waitPlaying(tabA)
    const t0 = await tabA.locator('video').evaluate((v: HTMLVideoElement) => v.currentTime)
    await tabA.waitForFunction((t) => (document.querySelector('video') as HTMLVideoElement).currentTime > t + 0.3, t0)
    const stats = await waitComplete(tabA, sample.id)
    expect(stats.current.map).not.toContain('.')
    expect(stats.bytesFromOrigin).toBe(sample.size)
    expect(await streamedSha(tabA, sample.id)).toBe(sample.sha)
  })

  it('tab B, another browser process, gets ≥ 50 % from tab A over WebRTC, and finishes with the relay stopped', async () => {
    const originBefore = await rig.metric('pipbingo_libp2p_bytes_served_total') + await rig.metric('pipbingo_http_bytes_served_total')
    // A serves slowly, so the transfer is still running when the relay goes away
    await tabA.evaluate(() => { (window.pipbingo as any).setUploadLimit(600_000) })
    const tabB = await openApp(browserB, `${rig.relay.httpUrl()}/?play=sample.mp4`)
    let relayStopped = false
    try {
      const aId = (await statsOf(tabA)).peerId
      await tabB.waitForFunction((a) => {
        const s = window.pipbingo.stats() as any
        return s?.peers.some((p: any) => p.id === a && p.direct && p.transport === 'webrtc') && (s.bySource[a] ?? 0) > 0
      }, aId, { timeout: 30_000, polling: 50 })
      const originAtCut = await rig.metric('pipbingo_libp2p_bytes_served_total') + await rig.metric('pipbingo_http_bytes_served_total')
      await rig.relay.stop()
      relayStopped = true
      const stats = await waitComplete(tabB, sample.id)
      console.log(`tab B: ${(100 * (stats.bySource[aId] ?? 0) / sample.size).toFixed(1)} % from tab A, first peer byte after ${stats.current?.timeToFirstPeerByteMs} ms; chunk map ${stats.current?.map}; dials ${stats.dials.recent.map((d: any) => `${d.outcome} in ${d.ms} ms (${d.steps.map((s: any) => `${s[0]}@${s[1]}`).join(' ')})`).join('; ')}`)
      // The bar of issue 10 for this 15-chunk sample. The origin may serve what playback needs while the direct
      // connection is not there yet (a 2 s start budget, then only chunks at risk): under CI's load the upgrade
      // takes 1.4-4.3 s (0.7-1 s quiet), up to 6 s more when a first attempt stalls, and B got 72-100 % from A.
      // The >= 80 % bar is for a long video, where those seconds are a small part (the bench's second viewer).
      expect(stats.bySource[aId]).toBeGreaterThanOrEqual(0.5 * sample.size)
      expect(stats.bytesFromPeers).toBeGreaterThanOrEqual(0.5 * sample.size)
      // the relay counted what it sent to B before the cut: at most the other half
      expect(originAtCut - originBefore).toBeLessThanOrEqual(0.5 * sample.size)
      expect(stats.relay.connected).toBe(false)
      expect(await streamedSha(tabB, sample.id)).toBe(sample.sha)
      await waitPlaying(tabB)
    } finally {
      // B goes away, the relay comes back
      await tabB.context().close()
      if (relayStopped) await rig.restartRelay()
      await tabA.evaluate(() => { (window.pipbingo as any).setUploadLimit(Infinity) })
    }
  })

  it('tab A reconnects to the relay once it is back', async () => {
    await tabA.waitForFunction(() => (window.pipbingo.stats() as any)?.relay.connected === true, undefined, { timeout: 30_000, polling: 200 })
  })

  it('reload tab A: same identity, the cache is back, nothing is fetched again', async () => {
    const before = await statsOf(tabA)
    const originBefore = await rig.metric('pipbingo_libp2p_bytes_served_total') + await rig.metric('pipbingo_http_bytes_served_total')
    await tabA.reload()
    await tabA.evaluate(async () => { await window.pipbingo.ready })
    await waitPlaying(tabA)
    const after = await waitComplete(tabA, sample.id)
    expect(after.peerId).toBe(before.peerId)
    expect(after.profile).toBe(before.profile)
    expect(after.bytesFromPeers + after.bytesFromOrigin).toBe(0)
    expect(after.current.map).toMatch(/^C+$/)
    expect(await rig.metric('pipbingo_libp2p_bytes_served_total') + await rig.metric('pipbingo_http_bytes_served_total')).toBe(originBefore)
  })

  it('a second tab in the same browser is another peer with another profile', async () => {
    const tab2 = await tabA.context().newPage()
    await tab2.goto(rig.relay.httpUrl())
    await tab2.evaluate(async () => { await window.pipbingo.ready })
    const [a, b] = [await statsOf(tabA), await statsOf(tab2)]
    expect(b.profile).not.toBe(a.profile)
    expect(b.peerId).not.toBe(a.peerId)
    await tab2.close()
  })

  it('B seeks to 80 % of a video it has not fetched: the critical window moves there, and it plays', async () => {
    // the network page: the catalogue would take posters, fetching the start and the end of the video
    const tabB = await openApp(browserB, `${rig.relay.httpUrl()}/network`)
    // a slow link (0.5 MB/s), so the seek lands where nothing has arrived yet
    const cdp = await tabB.context().newCDPSession(tabB)
    await cdp.send('Network.enable')
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 500_000, uploadThroughput: 500_000 })
    await tabB.evaluate(async () => { await window.pipbingo.play('seek-long.mp4') })
    await tabB.locator('video').evaluate(async (v: HTMLVideoElement) => {
      if (v.readyState >= 1) return
      await new Promise<void>(resolve => v.addEventListener('loadedmetadata', () => resolve(), { once: true }))
    })
    const before: string = (await statsOf(tabB)).current.map
    // nothing near 80 % has been asked for yet
    expect(before.slice(Math.floor(before.length * 0.7))).toMatch(/^\.+$/)
    const played = await tabB.locator('video').evaluate(async (v: HTMLVideoElement) => {
      const started = performance.now()
      v.currentTime = v.duration * 0.8
      const map = await new Promise<string>((resolve, reject) => {
        // the chunk map at the moment playback resumes
        v.addEventListener('playing', () => resolve((window.pipbingo.stats() as any).current.map), { once: true })
        v.addEventListener('error', () => reject(new Error(`media error ${v.error?.message}`)), { once: true })
      })
      return { at: v.currentTime, duration: v.duration, ms: performance.now() - started, map }
    })
    console.log(`seek to 80 % → playing in ${played.ms.toFixed(0)} ms at 0.5 MB/s; chunk map ${before} → ${played.map}`)
    expect(played.at).toBeGreaterThanOrEqual(played.duration * 0.79)
    // fetched out of order: when playback resumed, a chunk near the seek
    // point was held while an earlier one was not
    const held = (c: string | undefined): boolean => c != null && c !== '.' && c !== '~'
    const late = [...played.map].findIndex((c, i) => i >= Math.floor(played.map.length * 0.7) && held(c))
    expect(late).toBeGreaterThan(0)
    expect([...played.map.slice(0, late)].some(c => !held(c))).toBe(true)
    await cdp.detach()
  })
})
