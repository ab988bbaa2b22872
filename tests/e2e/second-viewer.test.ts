import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { fixtureVideo, SECOND_VIEWER_VIDEO } from '../bench/lib/fixture-video'
import { openApp, startWebRig, statsOf, waitPlaying, type WebRig } from '../helpers/web'
import { describeWithNamespaces } from '../helpers/describe-netns'

/** WebRTC between browsers needs network namespaces: skipped, with the reason, where they cannot be made. */
const describe = await describeWithNamespaces()

/**
 * Issue 10's bar for a long video the relay also holds: a second viewer, a
 * fresh browser process, gets ≥ 80 % of it from the first viewer, not from
 * the origin. The video is the bench's second-viewer fixture (~30 MB,
 * 3 minutes of 720p H.264/AAC, made with ffmpeg once and cached under
 * .tmp/fixtures). Real relay, real Chromium processes in network
 * namespaces, real WebRTC: nothing mocked.
 */
describe('the second viewer of a long video gets it from the first one', () => {
  let rig: WebRig
  let browserA: Browser
  let browserB: Browser
  let video: { filename: string, id: string, size: number, sha: string }
  let tabA: Page

  beforeAll(async () => {
    // encoding takes about a minute on one core the first time (then it is cached)
    const fixture = await fixtureVideo('second-viewer', SECOND_VIEWER_VIDEO)
    rig = await startWebRig([fixture.path], { netns: true })
    const filename = basename(fixture.path)
    const bytes = await readFile(fixture.path)
    video = { filename, id: rig.relay.library.byFilename(filename)!.contentId, size: bytes.byteLength, sha: createHash('sha256').update(bytes).digest('hex') }
    browserA = await rig.newBrowser()
    browserB = await rig.newBrowser()
  }, 300_000)

  afterAll(async () => { await rig?.close() })

  async function playToComplete (page: Page): Promise<any> {
    await page.evaluate(async (name) => { await window.pipbingo.play(name) }, video.filename)
    await waitPlaying(page)
    await page.waitForFunction((id) => (window.pipbingo.stats() as any)?.contents.find((c: any) => c.contentId === id)?.complete === true, video.id, { timeout: 75_000, polling: 200 })
    return await statsOf(page)
  }

  it('tab A plays it from the origin to the end of its download', async () => {
    tabA = await openApp(browserA, `${rig.relay.httpUrl()}/network`)
    const stats = await playToComplete(tabA)
    expect(stats.bytesFromOrigin).toBe(video.size)
    // alone with the origin: every chunk says why it came from there (what playback waited for, then the rest)
    const why = stats.current.originWhy
    expect((why['at-risk'] ?? 0) + (why.alone ?? 0)).toBe(stats.current.chunks)
    expect(why.alone).toBeGreaterThan(0)
  }, 90_000)

  it('tab B, another browser process, gets ≥ 80 % of it from tab A over WebRTC', async () => {
    const aId = (await statsOf(tabA)).peerId
    const originBefore = await rig.metric('pipbingo_libp2p_bytes_served_total') + await rig.metric('pipbingo_http_bytes_served_total')
    const tabB = await openApp(browserB, `${rig.relay.httpUrl()}/network`)
    const stats = await playToComplete(tabB)
    const originServed = await rig.metric('pipbingo_libp2p_bytes_served_total') + await rig.metric('pipbingo_http_bytes_served_total') - originBefore
    const fromA = stats.bySource[aId] ?? 0
    console.log(`second viewer: ${(100 * fromA / video.size).toFixed(1)} % of ${(video.size / 1e6).toFixed(1)} MB from tab A, origin served ${(originServed / 1e6).toFixed(2)} MB; first peer byte after ${stats.current?.timeToFirstPeerByteMs} ms; origin chunks by why ${JSON.stringify(stats.current?.originWhy)}; chunk map ${stats.current?.map}; dials ${stats.dials.recent.map((d: any) => `${d.outcome} in ${d.ms} ms`).join('; ')}`)
    expect(stats.peers.some((p: any) => p.id === aId && p.direct && p.transport === 'webrtc')).toBe(true)
    expect(fromA).toBeGreaterThanOrEqual(0.8 * video.size)
    // A holds it all: nothing is anybody's share, and the origin served only what playback waited for
    expect(Object.keys(stats.current.originWhy).filter(k => k !== 'at-risk')).toEqual([])
    // what the relay sent while B watched: the rest at most
    expect(originServed).toBeLessThanOrEqual(0.2 * video.size)
    const sha = await tabB.evaluate(async (id) => {
      const s = window.pipbingo.stats() as any
      const res = await fetch(`/stream/${s.profile}/${id}`)
      const digest = await crypto.subtle.digest('SHA-256', await res.arrayBuffer())
      return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('')
    }, video.id)
    expect(sha).toBe(video.sha)
  }, 90_000)
})
