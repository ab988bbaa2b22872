import type { Browser } from 'playwright-core'
import type { WebRig } from '../../helpers/web'
import { originServed, startVideoRig, waitForHolders, waitForSeeder, type RigVideo } from '../lib/browser-swarm'
import { keepSwarmLog, mapRuns, newTab, openTab, playToComplete, watchPlay, type Tab } from '../lib/browser-tabs'
import { SECOND_VIEWER_VIDEO } from '../lib/fixture-video'
import { spreadText } from '../lib/spread-text'
import { spread } from '../lib/stats'
import { checkTarget, type BenchContext, type Row, type Target } from '../types'

export const name = 'second-viewer'

/** Trials with tab A holding the video: each a fresh Chromium process B. */
const TRIALS = 20
/** Trials where only the origin holds the video (the baseline), measured the same way before A fetches it. */
const BASELINE_TRIALS = 3
/** One trial: navigation → B's stats say complete. */
const TRIAL_TIMEOUT_MS = 90_000
/** The trials stop starting past this (the rows then say how many ran): the suite stops by itself. */
const BUDGET_MS = 10 * 60_000
const SHARE_MEDIAN: Target = { of: 'value', op: '>=', limit: 90 }
const SHARE_WORST: Target = { of: 'value', op: '>=', limit: 50 }

interface Trial {
  /** B's stats at complete: verified chunk bytes from other tabs, from the origin (libp2p + HTTP), of which HTTP. */
  fromPeers: number
  fromOrigin: number
  fromHttp: number
  discarded: number
  /** What the relay's /metrics say it served (libp2p + HTTP) from B's navigation to its completion. */
  originServed: number
  /** Page clock (ms since B's navigation started): `playing`, the first byte from A, a direct WebRTC connection to A seen, complete. */
  playingAt?: number
  firstPeerByteAt?: number
  directAt?: number
  completeAt: number
  /** The session's own figure: from its start to the first verified byte from a peer. */
  timeToFirstPeerByteMs?: number
  /** B's connections to A at the end, `transport` or `transport (relayed)`. */
  links: string
  /** B's dial attempts (WebRTC upgrades): direct / relayed / failed, and the median time of the direct ones. */
  dials: { attempts: number, direct: number, relayed: number, failed: number, medianDirectMs: number }
  map: string
  /** Chromium launch (namespace, process) → navigation, ms: not part of any figure. */
  launchMs: number
  /** B's swarm session's log lines about stalls, dropped peers and failed chunks (`pipbingo:tab:swarm`), the first few. */
  swarmLog: string[]
}

const MAX_LOG_LINES = 12

/**
 * The second viewer (issue 10, "Peers win"): a ~30 MB playable video
 * (tests/bench/lib/fixture-video.ts: 3 min of 720p H.264/AAC, made once with
 * ffmpeg and cached) in the relay's library; tab A (its own Chromium
 * process and network namespace) has played it to the end, so it holds every
 * chunk and the tracker lists it as a seeder. Then 20 trials, each a fresh
 * Chromium process B in a network namespace of its own, whose first visit
 * navigates to `/?play=<video>` and plays it until B's stats say the video
 * is complete; B's process closes and the tracker forgets it before the next
 * trial. Measured per trial from B's stats: the share of its bytes that came
 * from peers, whether it reached A over a direct WebRTC connection, and the
 * session's time to the first peer byte; from the relay's /metrics, what the
 * origin served meanwhile. Baseline, in the same run, before A fetched the
 * video: 3 trials done the same way when only the origin holds it.
 */
export async function run (ctx: BenchContext): Promise<Row[]> {
  const { rig, video, started } = await startVideoRig(ctx, name)
  try {
    const env: Env = { ctx, rig, origin: rig.relay.httpUrl(), video, deadline: started + BUDGET_MS }

    // browser A's process first, idle, so every B is launched while it runs as in the trials
    const browserA = await rig.newBrowser()
    const seeder = await openTab(browserA, `${env.origin}/network`)
    const seederId = (await seeder.page.evaluate(() => (window.pipbingo.stats() as any).peerId)) as string

    /** One trial: its result into `done`, or why it failed into `failed`; said as progress either way. */
    const runTrial = async (tag: string, seeder: string | undefined, done: Trial[], failed: string[]): Promise<void> => {
      try {
        const t = await trial(env, seeder)
        done.push(t)
        ctx.progress(`${tag}: ${describeTrial(t, video.size)}`)
      } catch (err) {
        failed.push((err as Error).message)
        ctx.progress(`${tag} FAILED: ${(err as Error).message}`)
      }
    }
    const baseline: Trial[] = []
    const baselineFailures: string[] = []
    for (let k = 0; k < BASELINE_TRIALS; k++) {
      await runTrial(`${name} baseline ${k + 1}/${BASELINE_TRIALS} (only the origin holds it)`, undefined, baseline, baselineFailures)
    }
    if (baseline.length === 0) throw new Error(`every baseline trial failed: ${baselineFailures.join('; ')}`)

    const got = await playToComplete(seeder.page, video.filename, video.contentId, undefined, 120_000)
    await waitForSeeder(rig.relay, video.contentId, seederId)
    ctx.progress(`${name}: tab A holds ${video.filename} (${(video.size / 1e6).toFixed(1)} MB in ${(got.ms / 1000).toFixed(1)} s from the origin) and seeds it`)

    const trials: Trial[] = []
    /** Trials that did not complete (an error, or not complete in time): why. */
    const failures: string[] = []
    for (let k = 0; k < TRIALS; k++) {
      if (performance.now() > env.deadline) {
        ctx.progress(`${name}: past the ${BUDGET_MS / 60_000} min budget after ${k} trials: stopping there`)
        break
      }
      await runTrial(`${name} trial ${k + 1}/${TRIALS} (tab A holds it)`, seederId, trials, failures)
    }
    await seeder.close()
    if (trials.length === 0) throw new Error(failures.length === 0 ? `no trial ran within the ${BUDGET_MS / 60_000} min budget` : `every trial failed: ${failures.join('; ')}`)
    return rows(video, { baseline, baselineFailures, trials, failures }, (performance.now() - started) / 1000)
  } finally {
    await rig.close()
  }
}

interface Env {
  ctx: BenchContext
  rig: WebRig
  origin: string
  video: RigVideo
  /** performance.now() past which no trial starts. */
  deadline: number
}

/**
 * One trial: a fresh Chromium process (a new network namespace) navigates
 * to `/?play=<video>` and watches B's stats in the page (every 20 ms) until
 * the video is complete. `seederId`: tab A's peer id, whose bytes and
 * connection are looked for (undefined in the baseline).
 */
async function trial (env: Env, seederId: string | undefined): Promise<Trial> {
  const { rig, video } = env
  const launched = performance.now()
  const browser: Browser = await rig.newBrowser()
  let tab: Tab | undefined
  try {
    tab = await newTab(browser)
    // B's session logs its stalls and dropped peers
    const swarmLog = await keepSwarmLog(tab, MAX_LOG_LINES)
    const before = await served(rig)
    const launchMs = performance.now() - launched
    const seen = await watchPlay(tab, `${env.origin}/?play=${encodeURIComponent(video.filename)}`, video.contentId, TRIAL_TIMEOUT_MS)
    const originServed = await served(rig) - before
    const s = seen.stats
    const toA = seederId == null ? [] : (s.peers as Array<{ id: string, direct: boolean, transport: string }>).filter(p => p.id === seederId)
    return {
      fromPeers: s.bytesFromPeers,
      fromOrigin: s.bytesFromOrigin,
      fromHttp: s.bytesFromHttp,
      discarded: s.bytesDiscarded,
      originServed,
      playingAt: seen.playingAt,
      firstPeerByteAt: seederId == null ? undefined : seen.firstByteAt[seederId],
      directAt: seederId == null ? undefined : seen.directAt[seederId],
      completeAt: seen.completeAt,
      timeToFirstPeerByteMs: seen.content.timeToFirstPeerByteMs,
      links: toA.length === 0 ? 'none' : toA.map(p => `${p.transport}${p.direct ? '' : ' (relayed)'}`).join(' + '),
      dials: s.dials,
      map: seen.content.map,
      launchMs,
      swarmLog
    }
  } catch (err) {
    const errors = tab?.errors.length === 0 ? '' : ` (page errors: ${tab?.errors.slice(0, 5).join('; ')})`
    throw new Error(`${(err as Error).message}${errors}`)
  } finally {
    await tab?.close()
    await browser.close().catch(() => {})
    // the next B must not find this one: it leaves the tracker when its connection to the relay goes
    await waitForHolders(rig.relay, video.contentId, seederId == null ? [] : [seederId])
  }
}

async function served (rig: WebRig): Promise<number> {
  const { libp2p, http } = await originServed(rig)
  return libp2p + http
}

/** `a, a, b` → `a (2 trials), b`. */
function counted (items: string[]): string {
  const counts = new Map<string, number>()
  for (const x of items) counts.set(x, (counts.get(x) ?? 0) + 1)
  return [...counts].map(([x, k]) => `${x}${k > 1 ? ` (${k} trials)` : ''}`).join(', ')
}

function share (t: Trial): number {
  const total = t.fromPeers + t.fromOrigin
  return total === 0 ? 0 : t.fromPeers / total * 100
}

function describeTrial (t: Trial, size: number): string {
  const at = (x: number | undefined): string => x == null ? '—' : `${x.toFixed(0)} ms`
  const log = share(t) < 90 && t.swarmLog.length > 0 ? `; B's session said: ${t.swarmLog.join(' | ')}` : ''
  return `${share(t).toFixed(1)} % from peers (${(t.fromPeers / 1e6).toFixed(1)} MB), origin served ${(t.originServed / size).toFixed(3)} × the file; playing ${at(t.playingAt)}, first peer byte ${at(t.firstPeerByteAt)} (session: ${at(t.timeToFirstPeerByteMs)}), direct WebRTC to A ${at(t.directAt)}, complete ${at(t.completeAt)}; links to A: ${t.links}; dials ${t.dials.direct}/${t.dials.attempts} direct; map ${mapRuns(t.map)}${log}`
}

interface Results {
  baseline: Trial[]
  baselineFailures: string[]
  /** The trials that completed. */
  trials: Trial[]
  failures: string[]
}

function rows (video: Env['video'], { baseline, baselineFailures, trials, failures }: Results, seconds: number): Row[] {
  /** Trials run: completed or failed. */
  const n = trials.length + failures.length
  const ran = `${n === TRIALS ? `${TRIALS} trials` : `${n} trials (of ${TRIALS}: the ${BUDGET_MS / 60_000} min budget ran out)`}${failures.length === 0 ? '' : `, of which ${failures.length} did not complete (${failures.join('; ')}) and have no share; the shares are over the other ${trials.length}`}`
  const mb = (video.size / 1e6).toFixed(1)
  const spec = SECOND_VIEWER_VIDEO
  const what = `${video.filename} (${spec.seconds / 60} min of ${spec.height}p H.264/AAC, ${mb} MB, ${video.chunks} chunks)`
  const setup = `${ran[0]!.toUpperCase()}${ran.slice(1)}. Each trial is a fresh Chromium process B in a network namespace of its own (first visit: no service worker, profile or IndexedDB), navigating to /?play=<video> and playing it; B's stats are read in the page every 20 ms until they say the video is complete; then B's process closes and the tracker forgets it before the next trial. Tab A (another Chromium process, its own namespace) played the video to the end from the origin before the trials and seeds it; nobody else holds it but the origin. The suite took ${seconds.toFixed(0)} s in all (the web app's build, Chromium launches and the ${baseline.length} baseline trials included; a launch — namespace, process, context — took ${spreadText(spread(trials.map(t => t.launchMs)), 0)} ms, outside every figure).`
  const shares = spread(trials.map(share))
  const sorted = [...trials].sort((a, b) => share(a) - share(b))
  const worst = sorted[0]!
  const originX = (t: Trial): number => t.originServed / video.size
  const base = spread(baseline.map(originX))
  const baseComplete = spread(baseline.map(t => t.completeAt))
  const direct = trials.filter(t => t.directAt != null).length
  const ttfpb = trials.map(t => t.timeToFirstPeerByteMs).filter((x): x is number => x != null)
  const firstPeerNav = trials.map(t => t.firstPeerByteAt).filter((x): x is number => x != null)
  const dials = (list: Trial[]): string => {
    const sum = (f: (t: Trial) => number): number => list.reduce((a, t) => a + f(t), 0)
    const medians = list.filter(t => t.dials.direct > 0).map(t => t.dials.medianDirectMs)
    return `${sum(t => t.dials.attempts)} dial attempts over the ${list.length} trials, ${sum(t => t.dials.direct)} ended direct, ${sum(t => t.dials.relayed)} relayed only, ${sum(t => t.dials.failed)} failed${medians.length === 0 ? '' : `; a direct one took ${spreadText(spread(medians), 0)} ms (each B's median)`}`
  }
  const at = (xs: Array<number | undefined>): string => {
    const ys = xs.filter((x): x is number => x != null)
    return ys.length === 0 ? 'never' : `${spreadText(spread(ys), 0)} ms${ys.length < xs.length ? ` (in ${ys.length}/${xs.length})` : ''}`
  }
  const maps = (list: Trial[]): string => counted(list.map(t => `\`${mapRuns(t.map)}\``))

  const baselineRow: Row = {
    suite: name,
    name: `baseline: origin bytes / file size for one viewer of ${video.filename} when only the origin holds it`,
    value: base.median,
    range: [base.min, base.max],
    runs: base.runs,
    unit: '× file',
    notes: `${baseline.length} trials done exactly as the ones below, before tab A fetched the video${baselineFailures.length === 0 ? '' : ` (${baselineFailures.length} more failed: ${baselineFailures.join('; ')})`}: the relay's /metrics (pipbingo_libp2p_bytes_served_total + pipbingo_http_bytes_served_total) from B's navigation to its completion, over the file size. B's stats: ${spreadText(spread(baseline.map(t => t.fromOrigin / video.size * 100)), 1)} % of the file from the origin (of which over HTTP ${spreadText(spread(baseline.map(t => t.fromHttp / video.size * 100)), 1)} %), complete ${spreadText(baseComplete, 0)} ms after the navigation, playing at ${at(baseline.map(t => t.playingAt))}.`
  }

  const shareRow: Row = {
    suite: name,
    name: `second viewer: share of B's bytes from peers, median of ${trials.length} trials, tab A holds ${what}`,
    value: shares.median,
    range: [shares.min, shares.max],
    runs: trials.length,
    unit: '%',
    target: SHARE_MEDIAN,
    notes: `${setup} Share = B's stats at complete: bytesFromPeers / (bytesFromPeers + bytesFromOrigin), verified chunk bytes (from the origin: its libp2p node and HTTP); per trial: ${trials.map(t => share(t).toFixed(1)).join(', ')} %. Chunk maps at complete, in runs (\`P113\`: 113 chunks in a row from a peer; O/H from the origin's libp2p/HTTP): ${maps(trials)}. B's bytes from the origin: ${spreadText(spread(trials.map(t => t.fromOrigin / 1e6)), 2)} MB (over HTTP ${spreadText(spread(trials.map(t => t.fromHttp / 1e6)), 2)} MB); bytes discarded (late duplicates): ${spreadText(spread(trials.map(t => t.discarded / 1e6)), 2)} MB. What can cost origin bytes here: (1) the chunks the player waits for once the session's 2 s start budget is spent without a direct connection to A (urgentOrigin); (2) while A rests — after a stall (no byte for 2 s with requests in flight) or a busy answer, 5 s, then 10 s — the chunks that were in flight at A and, once playing, the ones within the risk window (4 s of video) ahead of the playhead; B's session log lines for such a trial are in the notes of the worst trial.`
  }
  shareRow.met = checkTarget(SHARE_MEDIAN, shareRow)

  const worstRow: Row = {
    suite: name,
    name: `second viewer: share of B's bytes from peers, worst of ${n} trials`,
    value: shares.min,
    unit: '%',
    target: SHARE_WORST,
    notes: `The lowest of the shares above. That trial: ${describeTrial(worst, video.size)}. The next lowest: ${sorted.slice(1, 3).map(t => `${share(t).toFixed(1)} %`).join(', ')}.${failures.length === 0 ? '' : ` Not met whatever the figure: ${failures.length} trial(s) did not complete.`}`
  }
  worstRow.met = failures.length === 0 && checkTarget(SHARE_WORST, worstRow) === true

  const origin = spread(trials.map(originX))
  const ratio = spread(trials.map(t => originX(t) / base.median))
  const originRow: Row = {
    suite: name,
    name: `second viewer: origin bytes / file size while B watches ${video.filename}, tab A seeding`,
    value: origin.median,
    range: [origin.min, origin.max],
    runs: trials.length,
    unit: '× file',
    baseline: base.median,
    baselineName: 'only the origin holds it (row above)',
    ratio: ratio.median,
    ratioRange: [ratio.min, ratio.max],
    notes: `The relay's /metrics from B's navigation to its completion, each trial's figure over the baseline trials' median (the baseline cannot be paired trial by trial: it needs a swarm where A does not hold the video yet). It counts what the origin sent anyone meanwhile; A, complete, fetches nothing.`
  }

  const directRow: Row = {
    suite: name,
    name: `second viewer: trials in which B reached A over a direct WebRTC connection`,
    value: direct,
    unit: `of ${n}`,
    // every trial: a budget cut short (fewer than 20 ran) is said in the notes, a failed trial counts as not reached
    target: { of: 'value', op: '>=', limit: n },
    notes: `Counted when B's stats listed a connection to A with direct: true and transport webrtc at any poll (every 20 ms) before complete; seen at ${at(trials.map(t => t.directAt))} after the navigation. Connections to A at complete: ${counted(trials.map(t => t.links))}. B's dials (stats.dials): ${dials(trials)}.`
  }
  directRow.met = checkTarget(directRow.target, directRow)

  const t1 = ttfpb.length === 0 ? undefined : spread(ttfpb)
  const ttfpbRow: Row = {
    suite: name,
    name: `second viewer: time to first peer byte (the session's timeToFirstPeerByteMs), median of ${trials.length} trials`,
    value: t1?.median ?? Number.NaN,
    range: t1 == null ? undefined : [t1.min, t1.max],
    runs: ttfpb.length,
    unit: 'ms',
    notes: `The session's own figure (web/core/swarm/session.ts, shown in B's stats per content): from the session's start (B has the manifest and its store) to the first verified chunk byte from another peer than the origin${ttfpb.length < n ? `; no peer byte at all in ${n - ttfpb.length} trials` : ''}. From the navigation (page clock, the first poll that saw bytes from A): ${at(firstPeerNav)}; B's <video> was playing at ${at(trials.map(t => t.playingAt))} (in the baseline: ${at(baseline.map(t => t.playingAt))}). No baseline: the origin is not a peer.`
  }

  const complete = spread(trials.map(t => t.completeAt))
  const completeRatio = spread(trials.map(t => t.completeAt / baseComplete.median))
  const completeRow: Row = {
    suite: name,
    name: `second viewer: navigation → the whole video held (${mb} MB), tab A seeding`,
    value: complete.median,
    range: [complete.min, complete.max],
    runs: trials.length,
    unit: 'ms',
    baseline: baseComplete.median,
    baselineName: 'only the origin holds it',
    ratio: completeRatio.median,
    ratioRange: [completeRatio.min, completeRatio.max],
    extra: true,
    notes: `Page clock, from the navigation's start to the first poll that saw the content complete in B's stats; each trial over the baseline trials' median. It includes B's first visit (service worker, profile, IndexedDB, libp2p node, relay reservation), the tracker, the WebRTC dial and the fetch while the video plays at 1×.`
  }

  return [baselineRow, shareRow, worstRow, originRow, directRow, ttfpbRow, completeRow]
}
