import type { Browser } from 'playwright-core'
import { newTab, waitMediaMark } from '../lib/browser-tabs'
import { waitForHolders } from '../lib/browser-swarm'
import { spreadText } from '../lib/spread-text'
import { pairedRatios, spread } from '../lib/stats'
import { checkTarget, type Row, type Target } from '../types'
import type { BrowserEnv } from './browser'

const SUITE = 'browser'
const NAVIGATION_TARGET: Target = { of: 'value', op: '<=', limit: 1500 }
/** Issue 13, row 11: the catalogue shows within a second of a first visit. */
const CATALOGUE_TARGET: Target = { of: 'value', op: '<=', limit: 1000 }
/**
 * The baseline's page (browser.ts writes it into the rig's web root):
 * fetch('/list'), one link per entry. Its icon is inline: without one,
 * Chromium asks for /favicon.ico, whose 404 is a console error that fails
 * the run (it did, once in a full bench).
 */
export const PLAIN_CATALOGUE_PAGE = 'bench-plain-catalogue.html'
export const PLAIN_CATALOGUE_HTML = `<!doctype html>
<meta charset="utf-8">
<title>plain catalogue</title>
<link rel="icon" href="data:,">
<script>
fetch('/list').then(r => r.json()).then(list => {
  for (const e of list) {
    const a = document.createElement('a')
    a.className = 'card'
    a.href = '#'
    a.textContent = e.title ?? e.filename
    document.body.append(a)
  }
})
</script>
`
const TIMEOUT_MS = 20_000

interface NavigationSample {
  /** `playing`, ms after the navigation started (page clock: performance.now() from timeOrigin). */
  ms: number
  /** From Node: `page.goto` called → the `playing` mark seen by polling (20 ms), ms. */
  nodeMs: number
  /** The app's milestones, ms after the navigation started (undefined for the plain page). */
  milestones?: Milestones
  mapAtPlaying?: string | null
}

interface Milestones {
  domContentLoaded: number
  /** The tab peer's first request to the relay (`/info`, after the profile lock and the IndexedDB open). */
  relayInfo?: number
  /** The manifest request (the node is up and connected to the relay). */
  manifest?: number
  /** The first chunk asked of the origin over HTTP, if any. */
  firstHttpChunk?: number
}

/**
 * Row 2: a first visit (a fresh context in B's browser process: no service
 * worker yet, no profile, empty IndexedDB) navigates to `/?play=sample.mp4`
 * while tab A holds the sample; timed from the navigation's start to the
 * video's `playing`, in the page. Baseline, in the same run: a fresh context
 * navigating to a minimal page on the relay's origin holding only
 * `<video src="/videos/sample.mp4" autoplay>`.
 */
export async function navigationRows (env: BrowserEnv): Promise<Row[]> {
  const { ctx, sample } = env
  const app: NavigationSample[] = []
  const plain: NavigationSample[] = []
  for (let r = 0; r < ctx.runs; r++) {
    const tag = `${SUITE} navigation run ${r + 1}/${ctx.runs}`
    const steps = [
      async () => {
        const s = await navigateToPlaying(env.browserB, `${env.origin}/?play=${encodeURIComponent(sample.filename)}`, true)
        app.push(s)
        ctx.progress(`${tag}: app, video held by tab A: playing at ${s.ms.toFixed(0)} ms (Node: ${s.nodeMs.toFixed(0)} ms); chunk map then ${s.mapAtPlaying}`)
      },
      async () => {
        const s = await navigateToPlaying(env.browserB, env.plainUrl(sample), false)
        plain.push(s)
        ctx.progress(`${tag}: plain <video> from the origin: playing at ${s.ms.toFixed(0)} ms (Node: ${s.nodeMs.toFixed(0)} ms)`)
      }
    ]
    for (let k = 0; k < steps.length; k++) await steps[(k + r) % steps.length]!()
    await waitForHolders(env.rig.relay, sample.contentId, [env.seederId])
  }
  const a = spread(app.map(s => s.ms))
  const p = spread(plain.map(s => s.ms))
  const ratio = spread(pairedRatios(app.map(s => s.ms), plain.map(s => s.ms)))
  const m = (key: keyof Milestones): string => {
    const xs = app.map(s => s.milestones?.[key]).filter((x): x is number => x != null)
    return xs.length === 0 ? 'none' : `${spreadText(spread(xs), 0)} ms${xs.length < app.length ? ` (in ${xs.length}/${app.length} runs)` : ''}`
  }
  const row: Row = {
    suite: SUITE,
    name: `navigation → playing, first visit, the video (${sample.filename}, ${(sample.size / 1e6).toFixed(1)} MB) held by tab A`,
    value: a.median,
    range: [a.min, a.max],
    runs: a.runs,
    unit: 'ms',
    baseline: p.median,
    baselineName: 'plain <video> from the origin',
    ratio: ratio.median,
    ratioRange: [ratio.min, ratio.max],
    target: NAVIGATION_TARGET,
    notes: `Timed in the page: performance.now() at the <video>'s playing event (a capture listener installed before any page script), i.e. ms since the navigation started; from Node, page.goto → playing seen: ${spreadText(spread(app.map(s => s.nodeMs)), 0)} ms. A fresh context in the second browser process per run, so everything a first visit does is in: the app's script (${m('domContentLoaded')} to DOMContentLoaded), the service worker's registration and claim, the Web Lock of a profile, the identity and IndexedDB, the relay's /info (asked at ${m('relayInfo')}), the libp2p node and its WebSocket + reservation at the relay, the manifest (asked at ${m('manifest')}), the tracker, the WebRTC dial to A, and the chunks through the service worker. Chunk map at playing (P from a peer, O/H from the origin's libp2p/HTTP, ~ in flight, . missing): ${app.map(s => `\`${s.mapAtPlaying ?? '?'}\``).join(', ')}. ${httpFirst(app)}`
  }
  row.met = checkTarget(NAVIGATION_TARGET, row)
  row.notes += ` Where the time goes (median per stage): ${stages(app)}.`
  return [
    {
      suite: SUITE,
      name: `baseline: navigation → playing, a plain <video src="/videos/${sample.filename}" autoplay> page from the origin, first visit`,
      value: p.median,
      range: [p.min, p.max],
      runs: p.runs,
      unit: 'ms',
      notes: `A minimal HTML page on the relay's origin (written into the rig's copy of the web app) with only that element, in a fresh context of the same browser process, measured the same way; from Node: ${spreadText(spread(plain.map(s => s.nodeMs)), 0)} ms.`
    },
    row
  ]
}

/** In how many runs the tab asked the origin over HTTP for a chunk, and when. */
function httpFirst (samples: NavigationSample[]): string {
  const xs = samples.map(s => s.milestones?.firstHttpChunk).filter((x): x is number => x != null)
  const when = xs.length === 0 ? '' : ` (first asked at ${spreadText(spread(xs), 0)} ms)`
  return `In ${xs.length} of ${samples.length} runs the tab asked the origin over HTTP for a chunk${when}: the chunk the player waits for goes to the origin when no peer can take it yet (the session's urgentOrigin); otherwise the first chunks came from A or the origin's libp2p node.`
}

/** The stages between the app's milestones, median ms each, the longest named. */
function stages (samples: NavigationSample[]): string {
  const parts: Array<[string, number[]]> = [
    ['navigation → DOMContentLoaded (the app\'s script)', []],
    ['→ /info (service worker, profile lock, identity, IndexedDB)', []],
    ['→ manifest request (libp2p node up, connected to the relay)', []],
    ['→ playing (session, tracker, WebRTC dial, the service worker\'s range request, the first chunks, the player\'s buffering)', []]
  ]
  for (const s of samples) {
    const m = s.milestones
    if (m?.relayInfo == null || m.manifest == null) continue
    const points = [0, m.domContentLoaded, m.relayInfo, m.manifest, s.ms]
    for (let i = 0; i < parts.length; i++) parts[i]![1].push(points[i + 1]! - points[i]!)
  }
  if (parts[0]![1].length === 0) return 'unknown'
  const medians = parts.map(([name, xs]) => ({ name, ms: spread(xs).median }))
  const longest = medians.reduce((a, b) => (b.ms > a.ms ? b : a))
  return `${medians.map(p => `${p.name} ${p.ms.toFixed(0)} ms`).join(', ')}; the longest: ${longest.name.replace(/^→ /, 'up to ')}`
}

async function navigateToPlaying (browser: Browser, url: string, isApp: boolean): Promise<NavigationSample> {
  const tab = await newTab(browser)
  try {
    const started = performance.now()
    await tab.page.goto(url, { waitUntil: 'commit' })
    const [ms] = await waitMediaMark(tab.page, 'playing', 1, TIMEOUT_MS)
    const nodeMs = performance.now() - started
    if (!isApp) return { ms: ms!, nodeMs }
    const marks = await tab.page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined
      const resources = performance.getEntriesByType('resource').map(e => ({ path: new URL(e.name).pathname, start: e.startTime }))
      const first = (prefix: string): number | undefined => resources.find(e => e.path.startsWith(prefix))?.start
      return {
        domContentLoaded: nav?.domContentLoadedEventEnd ?? Number.NaN,
        relayInfo: first('/info'),
        manifest: first('/manifest/'),
        firstHttpChunk: first('/videos/'),
        map: (globalThis.__benchMedia?.mapAtPlaying[0] ?? null)
      }
    })
    const { map, ...milestones } = marks
    // the numbers are only worth something if the app played through its peer
    if (map == null) throw new Error(`the app played without its peer (no chunk map at playing): ${tab.errors.join('; ')}`)
    return { ms: ms!, nodeMs, milestones, mapAtPlaying: map }
  } finally {
    await tab.close()
  }
}


/**
 * Issue 13, row 11: a first visit (a fresh context in B's browser process:
 * no service worker, no profile, empty IndexedDB) navigates to `/`; timed in
 * the page from the navigation's start to the first frame that shows a
 * video card (`a.card`). Baseline, in the same run: a fresh context on a
 * minimal page of the same origin that fetches `/list` and adds one link
 * per entry, timed the same way.
 */
export async function catalogueRows (env: BrowserEnv): Promise<Row[]> {
  const { ctx } = env
  const app: number[] = []
  const plain: number[] = []
  for (let r = 0; r < ctx.runs; r++) {
    const tag = `${SUITE} catalogue run ${r + 1}/${ctx.runs}`
    const steps = [
      async () => {
        const ms = await navigateToCards(env.browserB, `${env.origin}/`)
        app.push(ms)
        ctx.progress(`${tag}: the app's catalogue shows its first card at ${ms.toFixed(0)} ms`)
      },
      async () => {
        const ms = await navigateToCards(env.browserB, `${env.origin}/${PLAIN_CATALOGUE_PAGE}`)
        plain.push(ms)
        ctx.progress(`${tag}: plain page with /list: first link at ${ms.toFixed(0)} ms`)
      }
    ]
    for (let k = 0; k < steps.length; k++) await steps[(k + r) % steps.length]!()
  }
  const a = spread(app)
  const p = spread(plain)
  const ratio = spread(pairedRatios(app, plain))
  const row: Row = {
    suite: SUITE,
    name: 'navigation → catalogue shown (first video card drawn), first visit to /',
    value: a.median,
    range: [a.min, a.max],
    runs: a.runs,
    unit: 'ms',
    baseline: p.median,
    baselineName: 'a minimal page that fetches /list',
    ratio: ratio.median,
    ratioRange: [ratio.min, ratio.max],
    target: CATALOGUE_TARGET,
    notes: 'Timed in the page: performance.now() at the first animation frame with an a.card in the document (polled each frame), i.e. ms since the navigation started. A fresh context in the second browser process per run: the app\'s script, its service worker registration, and the catalogue drawn from /list while the tab\'s peer starts in the background. The baseline page on the same origin holds only a script that fetches /list and adds a link per entry.'
  }
  row.met = checkTarget(CATALOGUE_TARGET, row)
  return [row]
}

async function navigateToCards (browser: Browser, url: string): Promise<number> {
  const tab = await newTab(browser)
  try {
    await tab.page.goto(url, { waitUntil: 'commit' })
    const handle = await tab.page.waitForFunction(() => document.querySelector('a.card') != null ? performance.now() : null, undefined, { polling: 'raf', timeout: TIMEOUT_MS })
    const ms = await handle.jsonValue() as number
    if (tab.uncaught.length > 0) throw new Error(`uncaught page errors on ${url}: ${tab.errors.join('; ')}`)
    return ms
  } finally {
    await tab.close()
  }
}
