import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Crowd, type PeerReport, type PeerSpec } from '../lib/crowd'
import { writePseudoRandomFile } from '../lib/files'
import type { AttackCounts, HostileMessage, HostileParentMessage } from '../lib/hostile-worker'
import { procMemory, REPO_ROOT, startRelayProcess, stopProcess } from '../lib/bridge-process'
import { fetchManifest } from '../lib/relay'
import { MiB, spread } from '../lib/stats'
import { checkTarget, type BenchContext, type Row, type Target } from '../types'

export const name = 'hostile-soak'

/**
 * Issue 14's soak: 50 normal peers (the flash-crowd's bench peers, in 3
 * processes, each connected to the relay beforehand) download a file only
 * the relay's library holds, joining one every 2 s, while 10 rogue peers
 * (another process, tests/bench/lib/hostile-worker.ts) run the hostile-peer
 * suite's attacks against the relay for 2 minutes. The same peers, the same
 * joins, in the same bench run without attackers, are the baseline. Every
 * file must come out byte-identical and the relay must answer `/health`
 * after; the rows compare the normal peers' download time and the
 * relay's peak RSS. The relay runs in a process of its own (relay/main.ts,
 * as `npm run relay` starts it), so its memory is its own, not the bench's.
 */
const PEERS = 50
const PROCESSES = 3
const SIZE = 8 * MiB
const SEED = 1414
const ROGUES = 10
const ATTACK_MS = 120_000
/** One join every 2 s: the downloads run all along the attack. */
const JOIN_EVERY_MS = 2_000
const SETUP_MS = 120_000
const PHASE_MS = 420_000
/**
 * Every peer here comes from 127.0.0.1: the relay takes this many inbound
 * connections a second from one address (as behind a reverse proxy), so
 * its per-host limit does not throttle the attackers: the other limits
 * must hold them.
 */
const INBOUND_PER_HOST = 1000
/** Under attack a normal download may take at most twice as long (median over the 50 peers). */
const TARGET: Target = { of: 'ratio', op: '<=', limit: 2 }

interface Phase {
  reports: PeerReport[]
  /** The relay process's peak RSS (VmHWM) over the phase, and its RSS when the crowd is up and when the phase ends, bytes. */
  peakRss: number
  rssBefore: number
  rssAfter: number
  /** Rejections the relay's process-level guard logged (each one a bug, though survived). */
  unhandled: number
  attacks?: AttackCounts
  healthy: boolean
}

export async function run (ctx: BenchContext): Promise<Row[]> {
  const dir = await ctx.tempDir('hostile-')
  const libraryDir = join(dir, 'library')
  await mkdir(libraryDir)
  const filename = 'bench-hostile-8mib.mp4'
  ctx.progress(`${name}: writing ${SIZE / MiB} MiB of pseudo-random bytes`)
  const expected = await writePseudoRandomFile(join(libraryDir, filename), SIZE, SEED)
  const quiet = await runPhase(ctx, false, { dir: join(dir, 'quiet'), libraryDir, filename, expected })
  const attacked = await runPhase(ctx, true, { dir: join(dir, 'attacked'), libraryDir, filename, expected })
  return rows(quiet, attacked)
}

interface PhaseInit { dir: string, libraryDir: string, filename: string, expected: string }

async function runPhase (ctx: BenchContext, attack: boolean, p: PhaseInit): Promise<Phase> {
  const tag = `${name} ${attack ? 'with 10 attackers' : 'without attackers'}`
  const relay = await startRelayProcess(join(p.dir, 'relay'), { libraryDir: p.libraryDir, args: ['--inbound-per-host', String(INBOUND_PER_HOST)] })
  let crowd: Crowd | undefined
  let hostile: Hostile | undefined
  try {
    const { contentId, manifest } = await fetchManifest(relay, p.filename)
    const names = Array.from({ length: PEERS }, (_, k) => `n${k + 1}`)
    const groups: PeerSpec[][] = Array.from({ length: PROCESSES }, () => [])
    names.forEach((n, k) => groups[k % PROCESSES]!.push({ name: n, dir: join(p.dir, n) }))
    const reports = new Map<string, PeerReport>()
    const waiting = new Map<string, () => void>()
    crowd = await Crowd.start({
      tracker: relay.tcpAddr,
      relayId: relay.peerId,
      contentId,
      manifest,
      http: { baseUrl: relay.httpUrl, filename: p.filename },
      groups,
      inboundConnectionThreshold: INBOUND_PER_HOST,
      setupTimeoutMs: SETUP_MS,
      deadlineAt: Date.now() + SETUP_MS + PHASE_MS + 60_000,
      progress: ctx.progress,
      onDone: (report) => {
        reports.set(report.name, report)
        waiting.get(report.name)?.()
      }
    })
    // the relay's memory with the crowd connected, before any download or attack
    const { rss: rssBefore } = await procMemory(relay.child.pid!)
    if (attack) hostile = await Hostile.start({ relay: relay.tcpAddr, contentId, chunks: manifest.hashes.length, count: ROGUES, deadlineAt: Date.now() + ATTACK_MS + 30_000 }, ctx)
    const attackEnds = Date.now() + ATTACK_MS
    const done = async (n: string): Promise<void> => {
      if (!reports.has(n)) await new Promise<void>(resolve => waiting.set(n, resolve))
    }
    ctx.progress(`${tag}: ${PEERS} peers up; joining one every ${JOIN_EVERY_MS / 1000} s`)
    const t0 = Date.now() + 300
    names.forEach((n, k) => crowd!.join(k % PROCESSES, n, t0 + k * JOIN_EVERY_MS))
    const limit = new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error(`${tag}: ${reports.size}/${PEERS} complete after ${PHASE_MS / 1000} s`)) }, PHASE_MS).unref())
    limit.catch(() => {})
    await crowd.race(Promise.race([Promise.all(names.map(done)), limit]))
    let attacks: AttackCounts | undefined
    if (hostile != null) {
      // the attack runs its full 2 minutes even when the downloads finished sooner
      if (Date.now() < attackEnds) await new Promise(resolve => setTimeout(resolve, attackEnds - Date.now()))
      attacks = await hostile.stop()
    }
    const healthy = (await fetch(`${relay.httpUrl}/health`).then(r => r.text(), () => '')) === 'OK'
    const { results } = await crowd.verify()
    const wrong = results.filter(v => v.sha256 !== p.expected)
    if (wrong.length > 0) throw new Error(`${tag}: ${wrong.length} peer(s) hold a file that differs from the source`)
    if (results.length !== PEERS) throw new Error(`${tag}: ${results.length}/${PEERS} files verified`)
    if (relay.child.exitCode != null) throw new Error(`${tag}: the relay exited (${relay.child.exitCode})`)
    const { rss: rssAfter, hwm: peakRss } = await procMemory(relay.child.pid!)
    ctx.progress(`${tag}: all ${PEERS} files verified; download median ${(spread(names.map(n => reports.get(n)!.doneAt - reports.get(n)!.joinedAt)).median / 1000).toFixed(2)} s; relay RSS ${(rssBefore / MiB).toFixed(0)} → peak ${(peakRss / MiB).toFixed(0)} → ${(rssAfter / MiB).toFixed(0)} MiB`)
    return { reports: names.map(n => reports.get(n)!), peakRss, rssBefore, rssAfter, unhandled: relay.unhandled(), attacks, healthy }
  } finally {
    hostile?.kill()
    await crowd?.stop()
    await stopProcess(relay)
    await rm(p.dir, { recursive: true, force: true })
  }
}

/** The rogue peers' process (hostile-worker.ts): started, told to stop, killed on any failure or exit. */
class Hostile {
  private counts: AttackCounts = {}
  private final?: () => void
  private readonly onExit = (): void => { this.kill() }

  private constructor (private readonly child: ChildProcess) {
    process.on('exit', this.onExit)
    child.on('message', (m: HostileMessage) => {
      if (m.type === 'counts') {
        this.counts = m.counts
        if (m.final) this.final?.()
      }
    })
  }

  static async start (init: Omit<Extract<HostileParentMessage, { type: 'init' }>, 'type'>, ctx: BenchContext): Promise<Hostile> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'tests', 'bench', 'lib', 'hostile-worker.ts')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, DEBUG: '' }
    })
    const output: string[] = []
    for (const s of [child.stdout!, child.stderr!]) createInterface({ input: s }).on('line', l => { output.push(l); if (output.length > 20) output.shift() })
    const hostile = new Hostile(child)
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: HostileMessage) => { if (m.type === 'ready') resolve() })
      child.once('exit', code => { reject(new Error(`the hostile process exited (${code}) before it was ready:\n${output.join('\n')}`)) })
    })
    child.send({ type: 'init', ...init } satisfies HostileParentMessage)
    await ready
    ctx.progress(`${name}: ${init.count} rogue peers attacking (pid ${child.pid})`)
    return hostile
  }

  /** Ask the rogues to finish their current attack and report; resolves with what they did. */
  async stop (): Promise<AttackCounts> {
    const final = new Promise<void>(resolve => { this.final = resolve })
    this.child.send({ type: 'stop' } satisfies HostileParentMessage)
    await Promise.race([final, new Promise(resolve => setTimeout(resolve, 20_000).unref())])
    this.kill()
    return this.counts
  }

  kill (): void {
    process.off('exit', this.onExit)
    if (this.child.exitCode == null && this.child.signalCode == null) this.child.kill('SIGKILL')
  }
}

function rows (quiet: Phase, attacked: Phase): Row[] {
  const ms = (ph: Phase): number[] => ph.reports.map(r => r.doneAt - r.joinedAt)
  const q = spread(ms(quiet))
  const a = spread(ms(attacked))
  const mbps = (ms: number): number => SIZE / MiB / (ms / 1000)
  const attacks = Object.entries(attacked.attacks ?? {})
    .map(([k, v]) => `${k} ${v.runs} (${Object.entries(v.outcomes).map(([o, n]) => `${o} ${n}`).join(', ')})`).join('; ')
  const how = `${PEERS} normal peers (bench peers: libp2p over loopback TCP, FsChunkStore, the relay's tracker, HTTP fallback on) in ${PROCESSES} processes, each connected to the relay beforehand, join one every ${JOIN_EVERY_MS / 1000} s to download a ${SIZE / MiB} MiB file only the relay's library holds; in the attacked phase ${ROGUES} rogue peers in a fourth process attack the relay for ${ATTACK_MS / 1000} s from the first join (their attacks, round robin: ${attacks}). Both phases in this bench run, each with a fresh relay in a process of its own (relay/main.ts, as npm run relay starts it). All ${PEERS} files byte-identical in both phases; /health after: ${quiet.healthy ? 'OK' : 'FAILED'} / ${attacked.healthy ? 'OK' : 'FAILED'}; rejections the relay's guard logged: ${quiet.unhandled} / ${attacked.unhandled}. Every peer here comes from 127.0.0.1, so the relay runs with --inbound-per-host ${INBOUND_PER_HOST}, as behind a reverse proxy: its per-host limit (5 a second by default) does not throttle the attackers, its other limits must hold them.`
  const time: Row = {
    suite: name,
    name: `hostile soak: ${PEERS} normal peers' download time (join → complete, median) while ${ROGUES} rogue peers attack the relay, ${SIZE / MiB} MiB`,
    unit: 's',
    value: a.median / 1000,
    range: [a.min / 1000, a.max / 1000],
    baseline: q.median / 1000,
    baselineName: 'the same peers and joins without attackers',
    ratio: a.median / q.median,
    target: TARGET,
    notes: `${how} Median throughput per normal peer: ${mbps(a.median).toFixed(1)} MiB/s under attack, ${mbps(q.median).toFixed(1)} MiB/s without (slowest peer ${(a.max / 1000).toFixed(2)} s and ${(q.max / 1000).toFixed(2)} s).`
  }
  time.met = checkTarget(TARGET, time)
  const rss: Row = {
    suite: name,
    name: `hostile soak: peak RSS of the relay's process while ${ROGUES} rogue peers attack it`,
    unit: 'MiB',
    value: attacked.peakRss / MiB,
    baseline: quiet.peakRss / MiB,
    baselineName: 'the same phase without attackers',
    ratio: attacked.peakRss / quiet.peakRss,
    notes: `VmHWM of the relay's own process over the phase. Its RSS with the crowd connected, before the first join → when the phase ends: without attackers ${(quiet.rssBefore / MiB).toFixed(0)} → ${(quiet.rssAfter / MiB).toFixed(0)} MiB, with ${(attacked.rssBefore / MiB).toFixed(0)} → ${(attacked.rssAfter / MiB).toFixed(0)} MiB. RSS is not what the relay keeps: memory freed after an attack stays with the allocator; what the relay still holds once an attack ends (V8 heap after a full GC plus ArrayBuffers) is bounded by tests/relay/hostile-peers.test.ts.`
  }
  return [time, rss]
}
