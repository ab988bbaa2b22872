import { waitForHolders } from '../lib/browser-swarm'
import { newTab, openTab, playToComplete, seekAtMetadata, type SeekTimed, type Tab } from '../lib/browser-tabs'
import { spreadText } from '../lib/spread-text'
import { pairedRatios, spread } from '../lib/stats'
import { checkTarget, type Row, type Target } from '../types'
import type { BrowserEnv, Video } from './browser'

const SUITE = 'browser'
const TARGET: Target = { of: 'value', op: '<=', limit: 500 }
const FRACTION = 0.8
const TIMEOUT_MS = 20_000
/** The slow seeder's upload limit, bytes per second. */
const SLOW_UPLOAD = 1_000_000
const MAX_ATTEMPTS = 3

interface SeekSample extends SeekTimed {
  /** The state, just before the seek, of the chunk at FRACTION of the bytes: `.` missing, `~` in flight, other: held. */
  targetBefore: string
}

/**
 * Row 3: a fresh tab (second browser process) plays the 3-minute
 * seek-long.mp4 and seeks to 80 %; timed from setting currentTime to the
 * `playing` that follows `seeked`, in the page. Three situations, the first
 * two paired in every run with the same seek in the plain
 * `<video src="/videos/seek-long.mp4" autoplay>` page:
 * - nobody but the origin holds the video; the seek comes the moment the
 *   metadata is there (extra row);
 * - tab A holds it, same seek at loadedmetadata (the row);
 * - tab A holds it but uploads at most 1 MB/s; the seek comes once B plays
 *   and gets chunks from A, so the region is surely not fetched yet (extra,
 *   without a baseline: a plain page has no slow peer).
 */
export async function seekRows (env: BrowserEnv): Promise<Row[]> {
  const { ctx, seekLong } = env
  const originOnly = await seekRuns(env, 'nobody else holds it', async (tab) => await seekAtMetadata(tab.page, { play: seekLong.filename, fraction: FRACTION, timeoutMs: TIMEOUT_MS }))
  const got = await playToComplete(env.seeder.page, seekLong.filename, seekLong.contentId, undefined, TIMEOUT_MS)
  ctx.progress(`${SUITE}: tab A holds ${seekLong.filename} (${(got.ms / 1000).toFixed(2)} s from the origin)`)
  const fromA = await seekRuns(env, 'tab A holds it', async (tab) => await seekAtMetadata(tab.page, { play: seekLong.filename, fraction: FRACTION, timeoutMs: TIMEOUT_MS }))
  await env.seeder.page.evaluate((limit) => { window.pipbingo.setUploadLimit(limit) }, SLOW_UPLOAD)
  let slow: SeekRuns
  try {
    slow = await seekRuns(env, `tab A holds it, uploads ≤ ${SLOW_UPLOAD / 1e6} MB/s`, async (tab) => {
      // playing, and chunks from A have arrived: B's session works with A now
      const ready = await tab.page.evaluate(async ({ filename, seeder, timeoutMs }) => {
        void window.pipbingo.play(filename)
        const started = performance.now()
        for (;;) {
          const s = window.pipbingo.stats() as any
          // the player creates its <video> once play() has opened it: none yet is not ready yet
          const v = document.querySelector('video')
          if (v != null && !v.paused && v.readyState >= 3 && (s?.bySource[seeder] ?? 0) > 0) return undefined
          if (performance.now() - started > timeoutMs) {
            const links = (s?.peers ?? []).filter((p: any) => p.id === seeder).map((p: any) => `${p.transport}${p.direct === true ? '' : ' (relayed)'}`).join(' + ') || 'none'
            return `after ${timeoutMs} ms: ${v == null ? 'no <video>' : v.paused ? 'paused' : 'playing'}, ${s?.bySource[seeder] ?? 0} bytes from A, connections to A: ${links}, chunk map \`${s?.current?.map}\``
          }
          await new Promise(resolve => setTimeout(resolve, 10))
        }
      }, { filename: seekLong.filename, seeder: env.seederId, timeoutMs: 10_000 })
      if (ready != null) throw new PreconditionMissed(`B did not play with chunks from A ${ready}`)
      return await seekAtMetadata(tab.page, { fraction: FRACTION, timeoutMs: TIMEOUT_MS })
    }, false)
  } finally {
    await env.seeder.page.evaluate(() => { window.pipbingo.setUploadLimit(Infinity) })
  }

  const plainAll = [...originOnly.plain, ...fromA.plain]
  const size = `${seekLong.filename} (3 min, ${(seekLong.size / 1e6).toFixed(1)} MB)`
  const row = seekRow(fromA, `seek → playing at 80 % of ${size} right after loadedmetadata, tab A holds the video`)
  row.target = TARGET
  row.met = checkTarget(TARGET, row)
  row.notes = `A fresh context in the second browser process per run calls window.pipbingo.play() and, in the task that handles loadedmetadata, sets currentTime to 80 % of the duration; timed in the page to the first playing after seeked. The tab's sources are A (once found and dialled) and the origin. ${describe(fromA.app)}. The seek becomes a service-worker request for a chunk the tab lacks, fetched at top priority: from a peer with a free slot that has it, else from the origin.`
  const extraOrigin = seekRow(originOnly, `seek → playing as above, nobody but the origin holds the video (the tab fetches from the origin's libp2p node and HTTP)`)
  extraOrigin.extra = true
  extraOrigin.notes = `Measured before tab A fetched the video, a fresh context per run. ${describe(originOnly.app)}.`
  const sl = spread(slow.app.map(s => s.ms))
  const extraSlow: Row = {
    suite: SUITE,
    name: `seek → playing at 80 % while playing from a slow seeder: tab A holds the video and uploads ≤ ${SLOW_UPLOAD / 1e6} MB/s (setUploadLimit)`,
    value: sl.median,
    range: [sl.min, sl.max],
    runs: sl.runs,
    unit: 'ms',
    extra: true,
    notes: `The seek comes once B plays and has verified chunks from A, so the region is surely not fetched yet: the case the row above only gets when the seek beats the download. No baseline: a plain page has no slow peer. ${describe(slow.app)}.${slow.missed.length === 0 ? '' : ` ${slow.missed.length} attempt(s) were taken again with a fresh tab because that situation did not arise: ${slow.missed.join('; ')}.`}`
  }
  const p = spread(plainAll.map(s => s.ms))
  return [
    {
      suite: SUITE,
      name: `baseline: seek → playing at 80 % of ${seekLong.filename} in a plain <video src="/videos/${seekLong.filename}"> page, right after loadedmetadata`,
      value: p.median,
      range: [p.min, p.max],
      runs: p.runs,
      unit: 'ms',
      notes: `The plain page (only the <video> element, on the relay's origin), a fresh context per measurement, the seek at loadedmetadata and timed as for the app; all ${p.runs} measurements (each paired with one of the app's rows below). Buffered just before the seek: ${plainAll.map(s => s.bufferedBefore.map(([a, b]) => `${a.toFixed(0)}–${b.toFixed(0)} s`).join(' + ') || 'nothing').join(', ')}.`
    },
    row,
    extraOrigin,
    extraSlow
  ]
}

interface SeekRuns {
  app: SeekSample[]
  plain: SeekSample[]
  /** Attempts taken again because the situation to measure did not arise (why, for the notes). */
  missed: string[]
}

/** The situation a measurement needs did not arise (not a failure of the product path measured). */
class PreconditionMissed extends Error {
  override name = 'PreconditionMissed'
}

async function seekRuns (env: BrowserEnv, label: string, seek: (tab: Tab) => Promise<SeekTimed>, withPlain = true): Promise<SeekRuns> {
  const { ctx, seekLong } = env
  const app: SeekSample[] = []
  const plain: SeekSample[] = []
  const missed: string[] = []
  for (let r = 0; r < ctx.runs; r++) {
    const tag = `${SUITE} seek (${label}) run ${r + 1}/${ctx.runs}`
    const steps = [
      async () => {
        for (let attempt = 1; ; attempt++) {
          const tab = await openTab(env.browserB, `${env.origin}/network`)
          try {
            const s = withTarget(await seek(tab), seekLong)
            app.push(s)
            ctx.progress(`${tag}: app: ${s.ms.toFixed(0)} ms; chunk at 80 % before: '${s.targetBefore}'; map ${s.mapBefore} → ${s.mapAtPlaying}`)
            return
          } catch (err) {
            if (!(err instanceof PreconditionMissed) || attempt >= MAX_ATTEMPTS) throw err
            missed.push(err.message)
            ctx.progress(`${tag}: ${err.message}: taking it again with a fresh tab`)
          } finally {
            await tab.close()
          }
          await waitForHolders(env.rig.relay, seekLong.contentId, [env.seederId])
        }
      },
      async () => {
        const tab = await newTab(env.browserB)
        try {
          await tab.page.goto(env.plainUrl(seekLong), { waitUntil: 'commit' })
          const s = withTarget(await seekAtMetadata(tab.page, { fraction: FRACTION, timeoutMs: TIMEOUT_MS }), seekLong)
          plain.push(s)
          ctx.progress(`${tag}: plain <video>: ${s.ms.toFixed(0)} ms`)
        } finally {
          await tab.close()
        }
      }
    ]
    if (!withPlain) steps.pop()
    for (let k = 0; k < steps.length; k++) await steps[(k + r) % steps.length]!()
    await waitForHolders(env.rig.relay, seekLong.contentId, [env.seederId])
  }
  return { app, plain, missed }
}

function withTarget (s: SeekTimed, video: Video): SeekSample {
  const index = Math.floor(video.chunks * FRACTION)
  return { ...s, targetBefore: s.mapBefore?.[index] ?? '?' }
}

function describe (samples: SeekSample[]): string {
  const missing = samples.filter(s => s.targetBefore === '.').length
  const inFlight = samples.filter(s => s.targetBefore === '~').length
  const held = samples.length - missing - inFlight
  return `Just before the seek, the chunk at 80 % of the bytes was missing in ${missing}, in flight in ${inFlight}, already held in ${held} of ${samples.length} runs; seeked after ${spreadText(spread(samples.map(s => s.seekedMs)), 0)} ms; chunk maps (P from a peer, O/H from the origin's libp2p/HTTP, C cached, ~ in flight, . missing) before → at playing: ${samples.map(s => `\`${s.mapBefore}\` → \`${s.mapAtPlaying}\``).join(', ')}`
}

function seekRow (runs: SeekRuns, name: string): Row {
  const a = spread(runs.app.map(s => s.ms))
  const ratio = spread(pairedRatios(runs.app.map(s => s.ms), runs.plain.map(s => s.ms)))
  return {
    suite: SUITE,
    name,
    value: a.median,
    range: [a.min, a.max],
    runs: a.runs,
    unit: 'ms',
    baseline: spread(runs.plain.map(s => s.ms)).median,
    baselineName: 'plain <video>, same runs',
    ratio: ratio.median,
    ratioRange: [ratio.min, ratio.max]
  }
}
