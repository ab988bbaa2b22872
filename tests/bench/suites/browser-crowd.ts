import type { Browser } from 'playwright-core'
import type { WebRig } from '../../helpers/web'
import { originServed, startVideoRig, waitForHolders, type RigVideo } from '../lib/browser-swarm'
import { keepSwarmLog, mapRuns, newTab, watchPlay, type Tab, type WatchedPlay } from '../lib/browser-tabs'
import { SECOND_VIEWER_VIDEO } from '../lib/fixture-video'
import { spread } from '../lib/stats'
import { checkTarget, type BenchContext, type Row, type Target } from '../types'

export const name = 'browser-crowd'

/** The crowd: this many tabs (a fresh browser context each: its own libp2p node), round robin over this many Chromium processes. */
const TABS = 4
const PROCESSES = 2
/** The navigations are spread evenly over this window (the issue: all within 3 s; the margin absorbs timer lateness under load). */
const JOIN_WINDOW_MS = 2000
/** Hard limits, from each tab's navigation: the baseline's tab alone (it took 3–7 s on a busy 2-core machine), each tab of the crowd (16–28 s). */
const BASELINE_MS = 90_000
const CROWD_MS = 180_000
/** Each run is a baseline and a crowd (about a minute); no run starts past this much of the suite, so it ends well within 10 min. */
const MAX_RUNS = 3
const NO_RUN_AFTER_MS = 3 * 60_000
const TARGET: Target = { of: 'value', op: '<=', limit: 2.0 }

/** One tab's play, to complete. */
interface TabResult {
  label: string
  /** 0-based index of its Chromium process. */
  process: number
  peerId: string
  seen: WatchedPlay
  swarmLog: string[]
}

interface Phase {
  /** Relay /metrics deltas over the phase, bytes. */
  libp2p: number
  http: number
  tabs: TabResult[]
  /** First navigation → last complete, and first → last navigation, ms (epoch clocks of the pages). */
  spanMs: number
  joinSpreadMs: number
}

interface Run { baseline: Phase, crowd: Phase }

/**
 * Issue 10's flash crowd of browser tabs: the ~30 MB fixture video (the
 * second-viewer's, tests/bench/lib/fixture-video.ts) in the relay's library
 * and nowhere else (the origin); two Chromium processes, each in a network
 * namespace of its own (WebRTC between them goes over the namespaces' veth
 * addresses), and four fresh tabs, two per process, each a browser context
 * of its own (a first visit: its own identity and libp2p node), navigating
 * to `/?play=<video>` within 3 s. The origin's bytes served (relay /metrics,
 * libp2p + HTTP) from the first navigation to the last tab's complete are
 * divided by the file size. Baseline, in the same run: one tab alone (a
 * fresh context in the first process) plays it the same way, about 1.0.
 * Between phases the tabs close and the tracker forgets them.
 */
export async function run (ctx: BenchContext): Promise<Row[]> {
  const { rig, video, started } = await startVideoRig(ctx, name)
  try {
    const browsers: Browser[] = []
    for (let p = 0; p < PROCESSES; p++) browsers.push(await rig.newBrowser())
    const setupS = (performance.now() - started) / 1000
    const runs: Run[] = []
    const wanted = Math.min(ctx.runs, MAX_RUNS)
    for (let r = 0; r < wanted; r++) {
      if (r > 0 && performance.now() - started > NO_RUN_AFTER_MS) {
        ctx.progress(`${name}: ${((performance.now() - started) / 60_000).toFixed(1)} min in, past ${NO_RUN_AFTER_MS / 60_000} min: no run ${r + 1}`)
        break
      }
      const tag = `${name} run ${r + 1}/${wanted}`
      const baseline = await phase(rig, browsers, video, 'baseline')
      ctx.progress(`${tag} baseline (one tab alone): ${describePhase(baseline, video)}`)
      const crowd = await phase(rig, browsers, video, 'crowd')
      ctx.progress(`${tag} crowd (${TABS} tabs in ${PROCESSES} processes): ${describePhase(crowd, video)}`)
      runs.push({ baseline, crowd })
    }
    return [row(video, runs, wanted, setupS, (performance.now() - started) / 1000)]
  } finally {
    await rig.close()
  }
}

/**
 * One phase: fresh tabs navigate to the video and play it until complete
 * (`baseline`: one tab in the first process; `crowd`: TABS tabs round robin
 * over the processes, navigations spread over JOIN_WINDOW_MS); then they
 * close and the tracker forgets them. Fails, with where each tab stood, when
 * a tab does not complete within its limit.
 */
async function phase (rig: WebRig, browsers: Browser[], video: RigVideo, mode: 'baseline' | 'crowd'): Promise<Phase> {
  const count = mode === 'crowd' ? TABS : 1
  const limitMs = mode === 'crowd' ? CROWD_MS : BASELINE_MS
  const tabs: Tab[] = []
  let done = false
  try {
    const logs: string[][] = []
    for (let k = 0; k < count; k++) {
      const tab = await newTab(browsers[k % browsers.length]!)
      tabs.push(tab)
      logs.push(await keepSwarmLog(tab, 40))
    }
    const url = `${rig.relay.httpUrl()}/?play=${encodeURIComponent(video.filename)}`
    const before = await originServed(rig)
    const t0 = performance.now() + 300
    const settled = await Promise.allSettled(tabs.map(async (tab, k) => {
      const at = t0 + (count === 1 ? 0 : Math.round(k * JOIN_WINDOW_MS / (count - 1)))
      await new Promise(resolve => setTimeout(resolve, Math.max(0, at - performance.now())))
      return await watchPlay(tab, url, video.contentId, limitMs)
    }))
    const after = await originServed(rig)
    const failed = settled.flatMap((s, k) => s.status === 'rejected' ? [`tab ${k + 1}: ${(s.reason as Error).message}${tabs[k]!.errors.length === 0 ? '' : ` (page errors: ${tabs[k]!.errors.slice(0, 3).join('; ')})`}`] : [])
    if (failed.length > 0) throw new Error(`${name} ${mode}: ${failed.length} of ${count} tab(s) did not complete within ${limitMs / 1000} s of their navigation: ${failed.join('; ')}`)
    const results: TabResult[] = settled.map((s, k) => {
      const seen = (s as PromiseFulfilledResult<WatchedPlay>).value
      return { label: `t${k + 1}`, process: k % browsers.length, peerId: seen.stats.peerId, seen, swarmLog: logs[k]! }
    })
    const first = Math.min(...results.map(t => t.seen.timeOrigin))
    done = true
    return {
      libp2p: after.libp2p - before.libp2p,
      http: after.http - before.http,
      tabs: results,
      spanMs: Math.max(...results.map(t => t.seen.timeOrigin + t.seen.completeAt)) - first,
      joinSpreadMs: Math.max(...results.map(t => t.seen.timeOrigin)) - first
    }
  } finally {
    await Promise.all(tabs.map(async t => { await t.close() }))
    // the next phase must find none of these tabs: they leave the tracker when their connections to the relay go
    // (after a failure there is no next phase, and the failure is what to say)
    if (done) await waitForHolders(rig.relay, video.contentId, [], 20_000)
  }
}

const pct = (x: number): string => `${x.toFixed(0)} %`
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1)
const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

function originRatio (p: Phase, video: RigVideo): number {
  return (p.libp2p + p.http) / video.size
}

/** Share of a tab's verified bytes from other peers than the origin, %. */
function share (t: TabResult): number {
  const s = t.seen.stats
  const total = s.bytesFromPeers + s.bytesFromOrigin
  return total === 0 ? 0 : s.bytesFromPeers / total * 100
}

/** The pairs of tabs with a direct WebRTC connection seen by either side at any poll before it completed. */
function directPairs (p: Phase): Array<[TabResult, TabResult]> {
  const pairs: Array<[TabResult, TabResult]> = []
  p.tabs.forEach((a, i) => {
    for (const b of p.tabs.slice(i + 1)) {
      if (a.seen.directAt[b.peerId] != null || b.seen.directAt[a.peerId] != null) pairs.push([a, b])
    }
  })
  return pairs
}

/** One tab, for the notes: share, sources, direct links, times, the session's `why` and its log when peers carried little. */
function describeTab (t: TabResult, p: Phase): string {
  const s = t.seen.stats
  const first = Math.min(...p.tabs.map(x => x.seen.timeOrigin))
  const joined = t.seen.timeOrigin - first
  const others = p.tabs.filter(o => o !== t)
  const from = others.map(o => `${o.label} ${mb(s.bySource[o.peerId] ?? 0)}`).join(', ')
  const direct = others.filter(o => t.seen.directAt[o.peerId] != null).map(o => `${o.label} at ${sec(t.seen.directAt[o.peerId]!)}`)
  const firstPeer = Math.min(...others.map(o => t.seen.firstByteAt[o.peerId] ?? Infinity))
  const why = Object.entries(t.seen.whyMs).sort(([, a], [, b]) => b - a).map(([r, ms]) => `${r} ${sec(ms)}`).join(', ')
  const log = share(t) < 50 && t.swarmLog.length > 0 ? `; its session said: ${t.swarmLog.slice(0, 3).map(l => l.replace('pipbingo:tab:swarm ', '').slice(0, 200)).join(' | ')}` : ''
  return `${t.label} (process ${t.process + 1}, joined +${sec(joined)}): ${pct(share(t))} from peers (MB from ${from}), ${mb(s.bytesFromOrigin)} MB from the origin (HTTP ${mb(s.bytesFromHttp)}), ${mb(s.bytesDiscarded)} MB discarded, ${mb(s.bytesUploaded)} MB uploaded; direct WebRTC to ${direct.length === 0 ? 'none' : direct.join(', ')}; first peer byte ${Number.isFinite(firstPeer) ? sec(firstPeer) : 'never'}, playing ${t.seen.playingAt == null ? '—' : sec(t.seen.playingAt)}, complete ${sec(t.seen.completeAt)} after its navigation; why() before complete: ${why || '—'}; dials ${s.dials.direct}/${s.dials.attempts} direct, ${s.dials.relayed} relayed, ${s.dials.failed} failed; map ${mapRuns(t.seen.content.map)}${log}`
}

/**
 * How many tabs stored each chunk from the origin (its node or HTTP: `O`/`H`
 * in their maps), as `k chunks came n×`; the tabs' stats do not say why the
 * origin was asked (the session's originWhy is in its chunk events only).
 */
function originCopies (p: Phase, chunks: number): string {
  const counts = new Map<number, number>()
  for (let i = 0; i < chunks; i++) {
    const n = p.tabs.filter(t => /[OH]/.test(t.seen.content.map[i] ?? '')).length
    counts.set(n, (counts.get(n) ?? 0) + 1)
  }
  return [...counts].sort(([a], [b]) => a - b).map(([n, k]) => `${k} ${n === 0 ? 'never' : `${n}×`}`).join(', ')
}

function describePhase (p: Phase, video: RigVideo): string {
  const pairs = directPairs(p)
  const possible = p.tabs.length * (p.tabs.length - 1) / 2
  const head = `origin served ${originRatio(p, video).toFixed(3)} × the file (libp2p ${(p.libp2p / video.size).toFixed(3)}, HTTP ${(p.http / video.size).toFixed(3)}); joins over ${sec(p.joinSpreadMs)}, first join → last complete ${sec(p.spanMs)}`
  const links = possible === 0 ? '' : `; direct WebRTC pairs seen ${pairs.length}/${possible}${pairs.length === 0 ? '' : ` (${pairs.map(([a, b]) => `${a.label}–${b.label}${a.process === b.process ? ' same process' : ''}`).join(', ')})`}; of the ${video.chunks} chunks, the tabs stored from the origin: ${originCopies(p, video.chunks)}`
  return `${head}${links}. ${p.tabs.map(t => describeTab(t, p)).join('. ')}`
}

function row (video: RigVideo, runs: Run[], wanted: number, setupS: number, seconds: number): Row {
  const crowd = runs.map(r => originRatio(r.crowd, video))
  const base = runs.map(r => originRatio(r.baseline, video))
  const v = spread(crowd)
  const b = spread(base)
  const ratios = spread(crowd.map((x, i) => x / base[i]!))
  const spec = SECOND_VIEWER_VIDEO
  const r: Row = {
    suite: name,
    name: `browser flash crowd: ${TABS} tabs in ${PROCESSES} Chromium processes join within 3 s: origin bytes / file size, ${video.filename} (${mb(video.size)} MB)`,
    value: v.median,
    range: [v.min, v.max],
    runs: v.runs,
    unit: '× file',
    baseline: b.median,
    baselineName: 'one tab alone',
    ratio: ratios.median,
    ratioRange: [ratios.min, ratios.max],
    target: TARGET,
    notes: `Relay /metrics deltas (pipbingo_libp2p_bytes_served_total + pipbingo_http_bytes_served_total) from just before the first navigation to the last tab's complete, over the file size. The video: ${spec.seconds / 60} min of ${spec.height}p H.264/AAC, ${video.chunks} chunks, only in the relay's library (the origin). ${PROCESSES} Chromium processes, each in a network namespace of its own (WebRTC between processes over the namespaces' veth addresses; two tabs of one process share its address); ${TABS} fresh tabs (a browser context each: a first visit with its own identity, libp2p node and IndexedDB), round robin over the processes, navigating to /?play=<video> at even steps over ${JOIN_WINDOW_MS / 1000} s; each tab's stats are read in the page every 20 ms until it says complete. Baseline: one tab alone (a fresh context in the first process) playing it the same way, in the same run, before the crowd: the cheaper of the two fair baselines (the same tabs one after another would also be about 1.0, the first from the origin and the rest from it); between phases the tabs close and the tracker forgets them. ${runs.length === wanted ? `${runs.length} run(s)` : `${runs.length} run(s) of ${wanted} (no run starts ${NO_RUN_AFTER_MS / 60_000} min into the suite)`}; the suite took ${seconds.toFixed(0)} s (${setupS.toFixed(0)} s building the app and launching the browsers). Per run (tN = tab N; its share from peers = bytesFromPeers / (bytesFromPeers + bytesFromOrigin), verified chunk bytes; times after its own navigation; why() = how long the content's stats said each reason why peers carry little; maps in runs, P peer, O origin's node, H HTTP): ${runs.map((x, i) => `run ${i + 1}: crowd ${describePhase(x.crowd, video)} Baseline ${originRatio(x.baseline, video).toFixed(3)} × (complete in ${sec(x.baseline.spanMs)})`).join(' — ')}.`
  }
  r.met = checkTarget(TARGET, r)
  return r
}
