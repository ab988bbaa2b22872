import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { chunkCount, type ContentId } from '@core/content/manifest'
import { Crowd, type LoopDelay, type PeerReport, type PeerSpec, type WorkerInit } from '../lib/crowd'
import { describeCrowd, summarisePhase, type PhaseSummary } from '../lib/crowd-stats'
import { writePseudoRandomFile } from '../lib/files'
import { fetchManifest, joinBenchRelays, startBenchRelay, type BenchRelay } from '../lib/relay'
import { MiB, spread } from '../lib/stats'
import { checkTarget, type BenchContext, type Row, type Target } from '../types'
import { providedEverywhere } from './relays-lookup'

const PEERS = 60
/** One process per relay: process k's peers are attached to relay k (A, B, C). */
const RELAYS = ['A', 'B', 'C'] as const
const SIZE = 16 * MiB
const SIZE_NOTE = 'A 16 MiB file, not 64 MiB: 60 × 64 MiB is 3.75 GiB through noise + yamux in JS, twice over (the baseline), beside 60 DHT servers, on 2 shared cores; the flash-crowd suite\'s 100-peer case is 16 MiB for the same reason'
const SEED = 60
/** The joins are spread evenly over this window (the issue: all within 5 s), as in flash-crowd. */
const JOIN_WINDOW_MS = 4000
/**
 * Starting the children and their peers (tsx, libp2p with the DHT, a dial to
 * their relay each), SETUP_CONCURRENCY at a time in each process: 274–300 s
 * and more per process were seen one after another under a load of 15, the
 * DHT servers already up keeping each other busy (routing-table pings,
 * self-lookups) while the next ones start.
 */
const SETUP_MS = 600_000
const SETUP_CONCURRENCY = 5
/** Hard limit of a phase from the first join; a phase in which no peer stores a chunk for STALL_MS fails sooner. */
const PHASE_MS = 900_000
const STALL_MS = 90_000
/**
 * As flash-crowd: each peer stands for a host of its own. Here the relays
 * too take any number of inbound connections a second from 127.0.0.1: the
 * DHT's lookups bring every peer to every relay, not only its own.
 */
const INBOUND_PER_HOST = 1000
const TARGET: Target = { of: 'value', op: '<=', limit: 1.5 }

/** Over the 3 relays; all on A; all on A with the tracker alone (no DHT: flash-crowd's peers exactly, a diagnostic). */
type Layout = 'spread' | 'single' | 'tracker'
const LAYOUTS: readonly Layout[] = ['spread', 'single', 'tracker']
const TAGS: Record<Layout, string> = { spread: 'over 3 relays', single: 'all on relay A', tracker: 'all on relay A, tracker only (no DHT)' }

interface Phase {
  summary: PhaseSummary
  reports: PeerReport[]
  /** Bytes relays B and C served over the phase (they hold nothing of the file: 0 expected). */
  othersServed: number
  unhandled: number
  loopDelayMs: LoopDelay[]
  chunks: number
}

interface PhaseInit {
  dir: string
  libraryDirs: string[]
  filename: string
  expected: string
  tag: string
}

/**
 * Row 2 of the relays suite: 60 bench peers (flash-crowd's, in 3 child
 * processes) fetch a file only relay A's library holds, 20 of them attached
 * to each of three relays joined into one DHT, each asking its own relay's
 * tracker and the DHT through a CombinedLocator as a bridge does; peers on
 * B and C have no HTTP fallback to A. The baseline is the same 60 peers all
 * on relay A (the three relays still joined), in the same run. The value is
 * relay A's bytes served (libp2p + HTTP) / file size.
 */
export async function crowdRows (ctx: BenchContext, suite: string): Promise<Row[]> {
  const dir = await ctx.tempDir('relays-crowd-')
  const libraryDirs = ['a', 'b', 'c'].map(n => join(dir, `library-${n}`))
  for (const d of libraryDirs) await mkdir(d)
  const filename = `bench-relays-${SIZE / MiB}mib.mp4`
  ctx.progress(`${suite}: writing ${SIZE / MiB} MiB of pseudo-random bytes into relay A's library`)
  const expected = await writePseudoRandomFile(join(libraryDirs[0]!, filename), SIZE, SEED)
  const phases = new Map<Layout, Phase>()
  // once per bench whatever --runs says, as flash-crowd: a phase is already 60 downloads
  for (const layout of layouts()) {
    const tag = `${suite} ${PEERS} peers ${TAGS[layout]}`
    const phase = await runPhase(ctx, layout, { dir: join(dir, layout), libraryDirs, filename, expected, tag })
    ctx.progress(`${tag}: origin served ${phase.summary.originRatio.toFixed(3)} × the file; ${describeCrowd(phase.summary, phase.chunks)}`)
    if (layout === 'spread') ctx.progress(`${tag}: ${byRelay(phase.reports)}`)
    phases.set(layout, phase)
  }
  // phases picked by hand (PIPBINGO_BENCH_RELAYS) without both of the row's: their progress lines say it all
  const spreadPhase = phases.get('spread')
  const single = phases.get('single')
  return spreadPhase == null || single == null ? [] : [crowdRow(suite, spreadPhase, single)]
}

/**
 * The row's two phases. While working on the swarm,
 * `PIPBINGO_BENCH_RELAYS=spread` runs only the phase over 3 relays, and
 * `PIPBINGO_BENCH_RELAYS=tracker` the same 60 peers on relay A without the
 * DHT (flash-crowd's peers), to tell what the DHT costs from what spreading
 * over relays costs (with `--only relays`, which writes no report anyway).
 */
function layouts (): Layout[] {
  const only = process.env.PIPBINGO_BENCH_RELAYS
  if (only == null || only === '') return ['spread', 'single']
  const picked = only.split(',').map(s => s.trim()) as Layout[]
  const unknown = picked.filter(l => !LAYOUTS.includes(l))
  if (unknown.length > 0) throw new Error(`PIPBINGO_BENCH_RELAYS=${only}: no phase ${unknown.join(', ')} (have ${LAYOUTS.join(', ')})`)
  return picked
}

async function runPhase (ctx: BenchContext, layout: Layout, p: PhaseInit): Promise<Phase> {
  // fresh relays per phase: no tracker entry or provider record of the other phase's peers survives
  const relays: BenchRelay[] = []
  let crowd: Crowd | undefined
  let watch: ReturnType<Crowd['watch']> | undefined
  try {
    for (const [k, libraryDir] of p.libraryDirs.entries()) relays.push(await startBenchRelay(libraryDir, join(p.dir, `relay-${k}`), { inboundPerHost: INBOUND_PER_HOST }))
    await joinBenchRelays(relays)
    const [a, b, c] = relays as [BenchRelay, BenchRelay, BenchRelay]
    const { contentId, manifest } = await fetchManifest(a, p.filename)
    // setting up: B and C find A's record before anyone joins
    for (const other of [b, c]) await providedEverywhere(other, [contentId as ContentId], a.relay.node.peerId)
    const names = Array.from({ length: PEERS }, (_, k) => `p${k + 1}`)
    // round robin: each relay's peers join all along the window
    const groups: PeerSpec[][] = RELAYS.map(() => [])
    names.forEach((n, k) => groups[k % RELAYS.length]!.push({ name: n, dir: join(p.dir, n) }))
    // peers on B and C: their relay is their tracker, and no HTTP address of A (a client of B would not know it)
    const perProcess: Array<Partial<Pick<WorkerInit, 'tracker' | 'http'>>> | undefined = layout !== 'spread'
      ? undefined
      : [{}, { tracker: b.tcpAddr.toString(), http: undefined }, { tracker: c.tcpAddr.toString(), http: undefined }]
    const reports = new Map<string, PeerReport>()
    const waiting = new Map<string, () => void>()
    crowd = await Crowd.start({
      tracker: a.tcpAddr.toString(),
      relayId: a.relay.node.peerId.toString(),
      contentId,
      manifest,
      http: { baseUrl: a.relay.httpUrl(), filename: p.filename },
      groups,
      perProcess,
      dht: layout !== 'tracker',
      inboundConnectionThreshold: INBOUND_PER_HOST,
      startConcurrency: SETUP_CONCURRENCY,
      setupTimeoutMs: SETUP_MS,
      deadlineAt: Date.now() + SETUP_MS + PHASE_MS + 60_000,
      progress: ctx.progress,
      onDone: (report) => {
        reports.set(report.name, report)
        waiting.get(report.name)?.()
      }
    })
    const done = async (n: string): Promise<void> => {
      if (!reports.has(n)) await new Promise<void>(resolve => waiting.set(n, resolve))
    }
    watch = crowd.watch(PHASE_MS, STALL_MS, () => `${p.tag}: ${reports.size}/${PEERS} complete`)
    const served = async (): Promise<Array<{ libp2p: number, http: number }>> => await Promise.all(relays.map(async r => await r.servedBytes()))
    const before = await served()
    const decisionsBefore = await a.superSeed()
    ctx.progress(`${p.tag}: ${PEERS} peers up in ${crowd.processes} processes; joining`)
    const t0 = Date.now() + 300
    names.forEach((n, k) => crowd!.join(k % RELAYS.length, n, t0 + Math.round(k * JOIN_WINDOW_MS / (PEERS - 1))))
    try {
      await crowd.race(Promise.race([Promise.all(names.map(done)), watch.expired]))
    } catch (err) {
      // what the peers that completed say is the clue to why the rest did not
      ctx.progress(`${p.tag}: failed with ${reports.size}/${PEERS} complete; those: ${byRelay([...reports.values()])}`)
      throw err
    }
    watch.stop()
    const after = await served()
    const decisionsAfter = await a.superSeed()
    ctx.progress(`${p.tag}: relay A's super-seeding decisions: ${Object.entries(decisionsAfter).map(([d, n]) => `${d} ${n - decisionsBefore[d as keyof typeof decisionsBefore]}`).join(', ')}`)
    const { results, unhandled, loopDelayMs } = await crowd.verify()
    const wrong = results.filter(v => v.sha256 !== p.expected)
    if (wrong.length > 0) throw new Error(`${wrong.length} peer(s) hold a file that differs from the source: ${wrong.map(v => `${v.name} ${v.sha256}`).join(', ')}`)
    const delta = (k: number): { libp2p: number, http: number } => ({ libp2p: after[k]!.libp2p - before[k]!.libp2p, http: after[k]!.http - before[k]!.http })
    const others = [1, 2].reduce((n, k) => n + delta(k).libp2p + delta(k).http, 0)
    return {
      summary: summarisePhase(names.map(n => reports.get(n)!), SIZE, delta(0)),
      reports: names.map(n => reports.get(n)!),
      othersServed: others,
      unhandled,
      loopDelayMs,
      chunks: chunkCount(manifest)
    }
  } finally {
    watch?.stop()
    await crowd?.stop()
    for (const relay of relays.reverse()) await relay.stop()
    await rm(p.dir, { recursive: true, force: true })
  }
}

/**
 * Where each relay's peers got their bytes: from the origin, from peers of
 * their own relay, from peers of the others; and how many swarm members and
 * origins their finds named. Process k's peers are relay k's.
 */
function byRelay (reports: readonly PeerReport[]): string {
  const relayOf = new Map(reports.map(r => [r.peerId, r.process]))
  return RELAYS.map((name, k) => {
    const mine = reports.filter(r => r.process === k)
    if (mine.length === 0) return `relay ${name}: no peers`
    let own = 0
    let cross = 0
    for (const r of mine) {
      for (const [id, bytes] of Object.entries(r.bySource)) {
        if (relayOf.get(id) === k) own += bytes
        else cross += bytes
      }
    }
    const origin = mine.reduce((n, r) => n + r.fromOriginLibp2p + r.fromHttp, 0)
    const members = spread(mine.map(r => Math.max(-1, ...r.finds.map(f => f[3]))))
    const firstOrigin = spread(mine.map(r => r.finds.findIndex(f => f[2])))
    const unmarked = mine.reduce((n, r) => n + r.finds.filter(f => f[4]).length, 0)
    const finds = mine.reduce((n, r) => n + r.finds.length, 0)
    return `relay ${name}'s ${mine.length} peers took ${(origin / SIZE).toFixed(2)}× the file from the origin, ${(own / SIZE).toFixed(2)}× from peers of their own relay and ${(cross / SIZE).toFixed(2)}× from peers of the other relays; most swarm members one of their finds named: median ${members.median} (${members.min}–${members.max}); the origin first listed in find no. ${firstOrigin.median + 1} (median; -1 never: ${mine.filter(r => !r.finds.some(f => f[2])).length} peers); ${unmarked} of ${finds} finds named A without marking it the origin`
  }).join('. ')
}

function crowdRow (suite: string, spreadPhase: Phase, single: Phase): Row {
  const s = spreadPhase.summary
  const b = single.summary
  const delays = (p: Phase): string => p.loopDelayMs.map(d => `${d.p99}/${d.max}`).join(', ')
  const unhandled = spreadPhase.unhandled + single.unhandled
  const chunks = spreadPhase.chunks
  const row: Row = {
    suite,
    name: `${PEERS} Node peers over 3 relays (20 on each, DHT + tracker) join within 5 s: origin bytes / file size, ${SIZE / MiB} MiB`,
    value: s.originRatio,
    unit: '× file',
    runs: 1,
    baseline: b.originRatio,
    baselineName: `the same ${PEERS} peers all on relay A (flash-crowd's case, with the DHT)`,
    ratio: s.originRatio / b.originRatio,
    target: TARGET,
    notes: `Relay A alone holds the file in its library (the origin); relays A, B and C (createRelay, loopback, in the bench's process) are joined into one DHT by dialling each other, as --peer-relay will, and B and C find A's record before anyone joins. ${PEERS} bench peers (flash-crowd's: libp2p over loopback TCP + noise + yamux, an FsChunkStore each, sessions as a download runs them) in 3 child processes, process k's 20 peers attached to relay k (dialled beforehand, their tracker), each with the DHT as a client (as a bridge on loopback runs it) and a CombinedLocator of its tracker and the DHT, built as node-bridge/bridge.ts builds it; the joins are spread evenly over ${JOIN_WINDOW_MS / 1000} s, round robin over the relays. Peers on A keep A's HTTP fallback; peers on B and C have none (a real client of B would not know A's HTTP address), so all they take from A comes over libp2p. The value is relay A's /metrics deltas (libp2p + HTTP) over the phase / file size; B and C served ${spreadPhase.othersServed} bytes. Baseline: the same peers and processes all attached to A (HTTP fallback on, the three relays still joined), in the same bench run. Fresh relays and processes per phase; each phase once per bench whatever --runs says. ${SIZE_NOTE}. Every file's SHA-256 matched the source (2 × ${PEERS}).${unhandled > 0 ? ` ${unhandled} unhandled rejection(s) in the peers' processes.` : ''} Over 3 relays, by relay: ${byRelay(spreadPhase.reports)}. Over 3 relays: ${describeCrowd(s, chunks)}. All on A: ${describeCrowd(b, chunks)}. Event-loop delay of each peer process, p99/max ms: over 3 relays ${delays(spreadPhase)}; all on A ${delays(single)}.`
  }
  row.met = checkTarget(TARGET, row)
  return row
}
