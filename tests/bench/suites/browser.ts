import { stat, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { Browser } from 'playwright-core'
import { startWebRig, type WebRig } from '../../helpers/web'
import { openTab, playToComplete, type Tab } from '../lib/browser-tabs'
import { writePseudoRandomFile } from '../lib/files'
import { MiB } from '../lib/stats'
import type { BenchContext, Row } from '../types'
import { chatRows } from './browser-chat'
import { offloadRows } from './browser-offload'
import { catalogueRows, navigationRows, PLAIN_CATALOGUE_HTML, PLAIN_CATALOGUE_PAGE } from './browser-navigation'
import { seekRows } from './browser-seek'
import { throughputRows } from './browser-throughput'

export const name = 'browser'

const BIG_SIZE = 64 * MiB
const BIG_NAME = 'bench-browser-64mib.mp4'
const SAMPLE = 'library/sample.mp4'
const SEEK_LONG = 'tests/fixtures/seek-long.mp4'

export interface Video {
  filename: string
  contentId: string
  size: number
  chunks: number
}

/** What the browser rows share: one rig, two Chromium processes, tab A holding the videos. */
export interface BrowserEnv {
  ctx: BenchContext
  rig: WebRig
  origin: string
  /** Holds tab A (the seeder of rows 1–3). */
  browserA: Browser
  /** Every other tab of rows 1–3 opens in a fresh context here: another browser process than A's. */
  browserB: Browser
  seeder: Tab
  seederId: string
  big: Video
  sample: Video
  seekLong: Video
  /** The baselines' page: a minimal HTML page on the relay's origin with only `<video src="/videos/<file>" autoplay>`. */
  plainUrl(video: Video): string
}

/**
 * Tabs as peers, measured in real Chromium (Debian's, two processes, the
 * flags of tests/helpers/chromium.ts) against a real relay serving the built
 * web app over a temporary library, all on this machine:
 * 1. tab→tab throughput over libp2p WebRTC vs a raw RTCDataChannel between the same two pages;
 * 2. navigation → `playing` of a video another tab holds, vs a plain `<video>` from the origin;
 * 3. seek → `playing` into a region the tab has not fetched, vs the same seek on a plain `<video>`;
 * 4. the origin's bytes when 4 tabs watch one after another, vs 4 plain `<video>` plays;
 * 5. a chat message tab → tab (send → ACK, p50 and p99) vs a libp2p ping on the same connection (two fresh tabs, last).
 */
export async function run (ctx: BenchContext): Promise<Row[]> {
  const dir = await ctx.tempDir('browser-')
  const bigPath = join(dir, BIG_NAME)
  ctx.progress(`${name}: writing ${BIG_SIZE / MiB} MiB of pseudo-random bytes, building the web app, starting the relay`)
  await writePseudoRandomFile(bigPath, BIG_SIZE, 3)
  const rig = await startWebRig([bigPath, SAMPLE, SEEK_LONG], { netns: true })
  try {
    const origin = rig.relay.httpUrl()
    const video = async (path: string): Promise<Video> => {
      const filename = basename(path)
      const entry = rig.relay.library.byFilename(filename)
      if (entry == null) throw new Error(`the relay's library has no ${filename}`)
      const size = (await stat(path)).size
      return { filename, contentId: entry.contentId, size, chunks: Math.ceil(size / (256 * 1024)) }
    }
    const [big, sample, seekLong] = [await video(bigPath), await video(SAMPLE), await video(SEEK_LONG)]
    // the baselines' page, served by the relay from the rig's copy of the web
    // app (a temporary folder), so it is a real navigation on the same origin;
    // navigating to /videos/<file> itself would not do: Chromium fetches the
    // file once for the navigation and again for its media document's <video>
    for (const v of [sample, seekLong]) {
      await writeFile(join(rig.webRoot, plainPage(v)), `<!doctype html>\n<meta charset="utf-8">\n<title>plain ${v.filename}</title>\n<video src="/videos/${encodeURIComponent(v.filename)}" controls autoplay playsinline></video>\n`)
    }
    await writeFile(join(rig.webRoot, PLAIN_CATALOGUE_PAGE), PLAIN_CATALOGUE_HTML)
    const browserA = await rig.newBrowser()
    const browserB = await rig.newBrowser()

    // tab A fetches the 64 MiB file and the sample from the origin, fully, and seeds them
    const seeder = await openTab(browserA, `${origin}/network`)
    const seederId = (await seeder.page.evaluate(() => (window.pipbingo.stats() as any).peerId)) as string
    for (const v of [big, sample]) {
      const got = await playToComplete(seeder.page, v.filename, v.contentId, undefined, 120_000)
      ctx.progress(`${name}: tab A holds ${v.filename} (${(v.size / 1e6).toFixed(1)} MB in ${(got.ms / 1000).toFixed(2)} s from the origin)`)
    }
    const plainUrl = (v: Video): string => `${origin}/${plainPage(v)}`
    const env: BrowserEnv = { ctx, rig, origin, browserA, browserB, seeder, seederId, big, sample, seekLong, plainUrl }
    const rows: Row[] = []
    rows.push(...await throughputRows(env))
    rows.push(...await navigationRows(env))
    rows.push(...await catalogueRows(env))
    rows.push(...await seekRows(env))
    // row 4 needs a swarm where nobody holds the sample yet
    await seeder.close()
    rows.push(...await offloadRows(env))
    rows.push(...await chatRows(env))
    return rows
  } finally {
    await rig.close()
  }
}

function plainPage (video: Video): string {
  return `bench-plain-${video.filename.replace(/[^a-z0-9.-]/gi, '_')}.html`
}
