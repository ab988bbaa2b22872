import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { MemoryChunkStore } from '@core/store/memory-store'
import type { ContentId, Manifest } from '@core/content/manifest'
import { fetchAllChunks, handleMemoryChunks, memoryChunkChannel } from '../lib/chunks'
import { swarmDownload } from '../lib/download'
import { sha256OfFile, writePseudoRandomFile } from '../lib/files'
import { httpDownload } from '../lib/http'
import { measure, type Measured } from '../lib/measure'
import { startBenchPeer, type BenchPeer, type SessionOptions } from '../lib/peer'
import { handlePump, readPump } from '../lib/pump'
import { fetchManifest, startBenchRelay, type BenchRelay } from '../lib/relay'
import { megabytesPerSecond, MiB, pairedRatios, spread } from '../lib/stats'
import { formatNumber } from '../table'
import { checkTarget, type BenchContext, type Row, type Target } from '../types'

export const name = 'origin-download'

const SIZE = 256 * MiB
const MB = `${SIZE / MiB} MiB`
const FILENAME = 'bench-origin-256mib.mp4'
const TARGET: Target = { of: 'ratio', op: '>=', limit: 0.7 }
/** The session's default requests in flight per peer; the diagnostics keep as many. */
const IN_FLIGHT = 16
const CHUNKS = SIZE / (256 * 1024)

interface Env {
  relay: BenchRelay
  peer: BenchPeer
  contentId: ContentId
  manifest: Manifest
  expected: string
  runDir: string
}

interface Step {
  key: string
  name: string
  extra?: boolean
  notes?: string
  run(env: Env): Promise<Measured<unknown>>
}

const swarmStep = (key: string, label: string, knobs: NonNullable<SessionOptions['knobs']>, defaults: string): Step => ({
  key,
  name: `knob experiment: (a) with ${label} (default ${defaults})`,
  extra: true,
  notes: 'Not what a client runs: (a) with one session knob changed, on a fresh peer and store; ratio against (b) of the same run.',
  run: async (env) => await timedDownload(env, { contentId: env.contentId, manifest: env.manifest, knobs })
})

async function timedDownload (env: Env, options: SessionOptions): Promise<Measured<unknown>> {
  return await swarmDownload(env.peer, options, env.expected)
}

/** The three measurements of the row, in a rotating order per run. */
const MAIN: Step[] = [
  {
    key: 'a',
    name: `(a) SwarmSession from the origin, libp2p TCP → FsChunkStore, no HTTP fallback, ${MB}`,
    run: async (env) => await timedDownload(env, { contentId: env.contentId, manifest: env.manifest })
  },
  {
    key: 'b',
    name: `(b) bare libp2p stream, relay node → peer, same connection (ceiling), ${MB}`,
    run: async (env) => {
      const m = await measure(async () => await readPump(env.peer.node, env.relay.tcpAddr))
      if (m.result.bytes !== SIZE) throw new Error(`the pump delivered ${m.result.bytes} bytes, expected ${SIZE}`)
      if (m.result.connection.limits != null) throw new Error('the pump ran over a limited (relayed) connection')
      return m
    }
  },
  {
    key: 'c',
    name: `(c) plain HTTP GET /videos/<file> from the relay, Node fetch → disk, ${MB}`,
    run: async (env) => {
      const path = join(env.runDir, 'http-download.bin')
      const m = await measure(async () => await httpDownload(`${env.relay.relay.httpUrl()}/videos/${encodeURIComponent(FILENAME)}`, path))
      if (m.result.bytes !== SIZE || await sha256OfFile(path) !== env.expected) throw new Error('the HTTP download differs from the source')
      await rm(path)
      return m
    }
  }
]

/** What (a) is made of, one layer at a time: each adds one part of (a) to the one before. */
const DIAGNOSTICS: Step[] = [
  {
    key: 'd1',
    name: `diagnostic d1: chunk protocol only, ChunkServer over a MemoryChunkStore on the relay node, ${IN_FLIGHT} in flight, data dropped, ${MB}`,
    extra: true,
    notes: 'The protocol\'s frames, pipelining and the server\'s per-peer upload cap, over the same connection as (b), with no disk and no hashing on either side.',
    run: async (env) => {
      const channel = await memoryChunkChannel(env.peer.node, env.relay.tcpAddr)
      try {
        const m = await measure(async () => await fetchAllChunks(channel, env.contentId, env.manifest, IN_FLIGHT))
        if (m.result !== SIZE) throw new Error(`got ${m.result} bytes`)
        return m
      } finally {
        channel.close()
      }
    }
  },
  {
    key: 'd2',
    name: `diagnostic d2: chunk protocol from the relay's real chunk server (FsChunkStore), ${IN_FLIGHT} in flight, data dropped, ${MB}`,
    extra: true,
    notes: 'd1 plus the origin\'s store: a file open + read + close and a SHA-256 of every chunk served.',
    run: async (env) => {
      const channel = await env.peer.node.services.chunk.channel(env.relay.relay.node.peerId, { addrs: [env.relay.tcpAddr] })
      const m = await measure(async () => await fetchAllChunks(channel, env.contentId, env.manifest, IN_FLIGHT))
      if (m.result !== SIZE) throw new Error(`got ${m.result} bytes`)
      return m
    }
  },
  {
    key: 'd3',
    name: `diagnostic d3: (a) into a MemoryChunkStore instead of the FsChunkStore, ${MB}`,
    extra: true,
    notes: 'd2 plus the session (tracker lookup, picker, accounting) and the client\'s verification, without the client\'s disk. (a) adds the FsChunkStore\'s write path to this.',
    run: async (env) => await timedDownload(env, { contentId: env.contentId, manifest: env.manifest, store: new MemoryChunkStore() })
  }
]

/** Knobs the session exposes; each an extra row, never what a client runs. */
const KNOBS: Step[] = [
  swarmStep('k-slots8', 'peerSlots 8', { peerSlots: 8 }, '16, adapted to the measured speed'),
  swarmStep('k-slots32', 'peerSlots 32', { peerSlots: 32 }, '16, adapted to the measured speed'),
  swarmStep('k-window0', 'criticalWindowBytes 0', { criticalWindowBytes: 0 }, '4 MiB')
]

/**
 * Row 1: a Node peer downloads 256 MiB from the origin (a real relay) over
 * libp2p TCP: (a) the product's path — SwarmSession into an FsChunkStore, no
 * HTTP fallback — next to (b) a bare libp2p stream over the same connection
 * (the ceiling of that path) and (c) a plain HTTP GET of the same file from
 * the relay. The three run in every run, in a rotating order so none always
 * goes first; then the diagnostics and knob experiments.
 */
export async function run (ctx: BenchContext): Promise<Row[]> {
  const dir = await ctx.tempDir('origin-download-')
  const libraryDir = join(dir, 'library')
  await mkdir(libraryDir)
  ctx.progress(`${name}: writing ${MB} of pseudo-random bytes`)
  const expected = await writePseudoRandomFile(join(libraryDir, FILENAME), SIZE, 1)
  ctx.progress(`${name}: starting the relay (it hashes its library)`)
  const relay = await startBenchRelay(libraryDir, join(dir, 'relay'))
  const samples = new Map<string, Array<Measured<unknown>>>()
  const checks = { connection: '', originServed: new Set<number>(), overHttp: 0 }
  const unregister: Array<() => Promise<void>> = []
  try {
    const { contentId, manifest } = await fetchManifest(relay, FILENAME)
    unregister.push(await handlePump(relay.relay.node, SIZE))
    unregister.push(await handleMemoryChunks(relay.relay.node, join(libraryDir, FILENAME), manifest))
    const relayId = relay.relay.node.peerId.toString()
    for (let r = 0; r < ctx.runs; r++) {
      const runDir = join(dir, `run-${r + 1}`)
      const tag = `${name} run ${r + 1}/${ctx.runs}`
      const order = [...MAIN.slice(r % MAIN.length), ...MAIN.slice(0, r % MAIN.length)]
      for (const group of [[...order, ...DIAGNOSTICS], ...KNOBS.map(k => [k])]) {
        await mkdir(runDir)
        const peer = await startBenchPeer(relay.tcpAddr, join(runDir, 'store'), `run${r + 1}`)
        const env: Env = { relay, peer, contentId, manifest, expected, runDir }
        try {
          for (const step of group) {
            const before = await relay.servedBytes()
            const m = await step.run(env)
            if (step.key === 'a') {
              const after = await relay.servedBytes()
              checks.originServed.add(after.total - before.total)
              checks.overHttp += after.http - before.http
            }
            if (step.key === 'b') {
              const c = (m.result as Awaited<ReturnType<typeof readPump>>).connection
              checks.connection = `${c.remoteAddr.toString().replace(/\/p2p\/.*/, '')} + ${c.encryption ?? '?'} + ${c.multiplexer ?? '?'}`
            }
            samples.set(step.key, [...samples.get(step.key) ?? [], m])
            ctx.progress(`${tag}: ${step.name.split(',')[0]!}: ${megabytesPerSecond(SIZE, m.ms).toFixed(0)} MB/s (${(m.ms / 1000).toFixed(2)} s, main thread busy ${(m.busy * 100).toFixed(0)} %, CPU ${(m.cpuMs / 1000).toFixed(2)} s)`)
          }
          if (group.some(s => s.key === 'a') && peer.node.getConnections().filter(c => c.remotePeer.toString() === relayId).length !== 1) {
            throw new Error('(a), (b) and the diagnostics did not share one connection to the relay')
          }
        } finally {
          await peer.stop()
          await rm(runDir, { recursive: true, force: true })
        }
      }
    }
  } finally {
    for (const u of unregister) await u().catch(() => {})
    await relay.stop()
  }
  return rows(samples, checks)
}

function rows (samples: Map<string, Array<Measured<unknown>>>, checks: { connection: string, originServed: Set<number>, overHttp: number }): Row[] {
  const mbps = (key: string): number[] => (samples.get(key) ?? []).map(m => megabytesPerSecond(SIZE, m.ms))
  const busy = (key: string): number => spread((samples.get(key) ?? []).map(m => m.busy)).median
  const cpu = (key: string): number => spread((samples.get(key) ?? []).map(m => m.cpuMs / 1000)).median
  const load = (key: string): string => `Main thread busy ${formatNumber(busy(key) * 100)} % of the wall time, process CPU ${formatNumber(cpu(key))} s (user + system, all threads) per ${MB}.`
  const b = mbps('b')
  const speedRow = (step: Step, baseline?: { key: string, name: string }): Row => {
    const s = spread(mbps(step.key))
    const row: Row = { suite: name, name: step.name, value: s.median, range: [s.min, s.max], runs: s.runs, unit: 'MB/s', extra: step.extra }
    if (baseline != null) {
      const base = mbps(baseline.key)
      const ratio = spread(pairedRatios(mbps(step.key), base))
      Object.assign(row, { baseline: spread(base).median, baselineName: baseline.name, ratio: ratio.median, ratioRange: [ratio.min, ratio.max] })
    }
    row.notes = [step.notes, load(step.key)].filter(s => s != null).join(' ')
    return row
  }
  const [stepA, stepB, stepC] = MAIN as [Step, Step, Step]
  const rowA = speedRow(stepA, { key: 'b', name: '(b)' })
  rowA.target = TARGET
  rowA.met = checkTarget(TARGET, rowA)
  const ratioOf = (key: string): number => spread(pairedRatios(mbps(key), b)).median
  const perChunk = (key: string): string => `${formatNumber(spread((samples.get(key) ?? []).map(m => m.ms)).median / CHUNKS)} ms`
  const layers = [
    { key: 'b', what: '(b) the bare stream' },
    { key: 'd1', what: 'd1 (+ the chunk protocol: requests, framing, 16 in flight, the server\'s upload cap)' },
    { key: 'd2', what: 'd2 (+ the relay\'s FsChunkStore: open + read + close + SHA-256 per chunk served)' },
    { key: 'd3', what: 'd3 (+ the session and the client\'s SHA-256, into memory)' },
    { key: 'a', what: '(a) (+ the client\'s FsChunkStore: copy, open + write + close per chunk, bitfield saved with fsync + rename)' }
  ].map(l => ({ ...l, ratio: l.key === 'b' ? 1 : ratioOf(l.key) }))
  const drops = layers.slice(1).map((l, i) => ({ ...l, drop: layers[i]!.ratio - l.ratio }))
  const worst = drops.reduce((x, y) => y.drop > x.drop ? y : x)
  rowA.notes = `Timed from start() to done: the tracker lookup, the store's manifest and state files, every chunk verified and written, the final fsync + rename. The completed file's SHA-256 matched the source in every run; the origin served ${[...checks.originServed].join(', ')} bytes per download (file: ${SIZE}), ${checks.overHttp} of them over HTTP in all runs together. ` +
    `Where (a) loses against (b), one layer added at a time (median ratio to (b) of the same run; wall time per 256 KiB chunk): ${layers.map(l => `${l.what}: ${formatNumber(l.ratio)}, ${perChunk(l.key)}`).join('; ')}. ` +
    `The largest step down is ${worst.key === 'a' ? '(a)' : worst.key} (−${formatNumber(worst.drop)}). ` +
    `(a) kept the main thread busy ${formatNumber(busy('a') * 100)} % of its wall time and used ${formatNumber(cpu('a'))} s of CPU (user + system, all threads) per ${MB}; (b) ${formatNumber(busy('b') * 100)} % and ${formatNumber(cpu('b'))} s. ` +
    (busy('a') >= 0.9
      ? 'The relay and the peer share one main thread here and it is saturated during (a): (a) is CPU-bound, so each layer\'s CPU cost per chunk comes straight off the throughput.'
      : 'The main thread is not saturated during (a): the time goes in waiting (per-chunk latency × requests in flight), not in CPU.')
  const rowB = speedRow(stepB)
  rowB.notes = `256 KiB pieces, send() + onDrain(), read with for await, bytes counted (not stored). Connection: ${checks.connection}. ${load('b')}`
  const rowC = speedRow(stepC)
  rowC.notes = `Body written to a file as it arrives, fdatasync at the end (the store flushes too), SHA-256 checked outside the timing. ${load('c')}`
  const rowAC = speedRow({ ...stepA, name: '(a) / (c): SwarmSession vs plain HTTP (informational)' }, { key: 'c', name: '(c)' })
  rowAC.notes = undefined
  return [
    rowB,
    rowC,
    rowA,
    rowAC,
    ...DIAGNOSTICS.map(d => speedRow(d, { key: 'b', name: '(b)' })),
    ...KNOBS.map(k => speedRow(k, { key: 'b', name: '(b)' }))
  ]
}
