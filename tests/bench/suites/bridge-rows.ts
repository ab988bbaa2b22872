import { cpus } from 'node:os'
import type { DownloadMeasure } from '../lib/bridge-download'
import type { ProcMemory } from '../lib/bridge-process'
import { megabytesPerSecond, MiB, pairedRatios, spread, type Spread } from '../lib/stats'
import { formatNumber } from '../table'
import { checkTarget, type Row, type Target } from '../types'

const SUITE = 'bridge'
/** Issue 12: ≤ 150 MB for a 1 GiB download. */
const MEMORY_TARGET: Target = { of: 'value', op: '<=', limit: 150 }
const STARTUP_TARGET: Target = { of: 'value', op: '<=', limit: 1000 }
const VERIFY_TARGET: Target = { of: 'ratio', op: '>=', limit: 0.9 }
/** Issue 12: GET /stream at ≥ 0.8 of a minimal node:http server sending the same file, same run. */
const STREAM_TARGET: Target = { of: 'ratio', op: '>=', limit: 0.8 }
const GIB = '1 GiB'

/** What the bridge suite measured; start-up arrays hold one sample per round (2 rounds per run), the rest one per run. */
export interface BridgeSamples {
  /** `node -e ''`: spawn → exit, ms. */
  nodeExit: number[]
  /** `node --import tsx -e "await import('./node-bridge/bridge.ts')"`: spawn → exit, ms. */
  tsxImport: number[]
  /** The relay (`node dist/node/relay.js`, empty library): spawn → /health OK, ms. */
  relayReady: number[]
  /** The bridge (the production build), fresh folders: spawn → /health OK and relay connected, ms. */
  bridgeReady: number[]
  /** The same, from its sources through tsx (development), ms. */
  tsxReady: number[]
  /** The bridge restarted over a cache holding the 1 GiB file (one per run), ms. */
  bridgeReadyCached: number[]
  /** Per restart over the full cache: whether the bridge hashed the file again (a console line `Analyse de …`). */
  cachedRehashed: boolean[]
  /** Memory of the start-up bridges at ready. */
  readyMemory: ProcMemory[]
  tsxReadyMemory: ProcMemory[]
  /** The 1 GiB downloads, one per run. */
  downloads: DownloadMeasure[]
  /** The knob experiment's download (once). */
  knob: DownloadMeasure[]
  /** The node flag of the knob experiment. */
  knobFlag: string
  /** Why the knob experiment failed, if it did. */
  knobError?: string
  /** The largest RSS sample during GET /stream of the whole file. */
  streamPeak: ProcMemory[]
  /** MB/s per run. */
  stream: number[]
  file: number[]
  /** GET /stream of a bridge just restarted over its cache: first read (every chunk hashed), second read (remembered), MB/s, one per round (2 per run). */
  streamVerifyFirst: number[]
  streamVerifySteady: number[]
  /** The same rounds from a bridge started with serve-time verification off: its first and second reads. */
  streamUnverified: number[]
  streamUnverifiedAgain: number[]
  /** CPU seconds the bridge process used per read of the whole file (all threads, and its main thread): first reads, second reads, reads with verification off. */
  streamCpu: Record<'first' | 'steady' | 'off', Array<{ process: number, main: number }>>
  /** A minimal node:http server in a child process piping fs.createReadStream, MB/s per run. */
  plainHttp: number[]
  /** GET /videos of the same file from a relay process (the production build), MB/s per run. */
  videos: number[]
  /** 1-minute load average at the start and at the end of the suite. */
  load: number[]
  nodeMemory?: ProcMemory
}

const mb = (bytes: number): number => bytes / 1e6
const med = (xs: number[]): number => spread(xs).median
const text = (s: Spread): string => s.min === s.max ? formatNumber(s.median) : `${formatNumber(s.median)} (${formatNumber(s.min)}–${formatNumber(s.max)})`
const memText = (m: ProcMemory[], key: 'rss' | 'hwm' = 'rss'): string =>
  `${formatNumber(med(m.map(x => mb(x[key]))))} MB (anon ${formatNumber(med(m.map(x => mb(x.anon))))} + file-backed ${formatNumber(med(m.map(x => mb(x.file))))})`

const cpuText = (xs: Array<{ process: number, main: number }>): string =>
  `${formatNumber(med(xs.map(x => x.process)))} / ${formatNumber(med(xs.map(x => x.main)))}`

function row (name: string, values: number[], unit: string, more: Partial<Row> = {}): Row {
  const s = spread(values)
  return { suite: SUITE, name, value: s.median, range: [s.min, s.max], runs: s.runs, unit, ...more }
}

function withBaseline (r: Row, values: number[], base: number[], baselineName: string): Row {
  const ratio = spread(pairedRatios(values, base))
  return { ...r, baseline: med(base), baselineName, ratio: ratio.median, ratioRange: [ratio.min, ratio.max] }
}

function targeted (r: Row, target: Target): Row {
  return { ...r, target, met: checkTarget(target, r) }
}

/** Per run: the mean of that run's `perRun` start-up rounds (to pair with one-per-run samples). */
function perRun (xs: number[], runs: number): number[] {
  const per = xs.length / runs
  return Array.from({ length: runs }, (_, r) => xs.slice(r * per, (r + 1) * per).reduce((a, b) => a + b, 0) / per)
}

export function bridgeRows (s: BridgeSamples): Row[] {
  const d = s.downloads
  const runs = d.length
  const peaks = d.map(m => mb(m.end.hwm))
  const idles = d.map(m => mb(m.idle.rss))
  const added = spread(d.map(m => mb(m.end.hwm - m.idle.rss)))
  const speed = (ms: number): number => megabytesPerSecond(1024 * MiB, ms)
  const over = med(idles) > MEMORY_TARGET.limit
  const load = `Load average (1 min) at the suite's start and end: ${s.load.map(x => formatNumber(x)).join(' and ')} on ${cpus().length} cores${Math.max(...s.load) > cpus().length ? ': other work was running, every figure of this suite is skewed by it' : ''}.`
  const memory = targeted(withBaseline(row(`peak RSS (VmHWM) of the bridge process while it downloads a ${GIB} file, node dist/node/bridge.js`, peaks, 'MB'),
    peaks, idles, 'RSS of the same process at ready'), MEMORY_TARGET)
  memory.notes = `The child process as \`npm run bridge\` runs it; VmHWM (the kernel's peak RSS since spawn) read from /proc/<pid>/status once the download reached \`seeding\`, MB = 10^6 bytes (100 MB = 95.4 MiB). ` +
    `At ready it held ${memText(d.map(m => m.idle))}; the ${GIB} download added ${text(added)} MB over that; the 50 ms samples (${med(d.map(x => x.samples))} per download) peaked at ${memText(d.map(m => m.sampled))}. ` +
    `V8 at the end of the download (bridge /metrics): heap used ${formatNumber(med(d.map(x => mb(x.heapUsed))))} MB of ${formatNumber(med(d.map(x => mb(x.heapTotal))))} MB, external ${formatNumber(med(d.map(x => mb(x.external))))} MB. ` +
    `During GET /stream of the whole file the RSS peaked at ${memText(s.streamPeak)}. ` +
    (s.nodeMemory != null ? `Floor: a bare \`node -e\` holds ${memText([s.nodeMemory])}. ` : '') +
    (s.tsxReadyMemory.length > 0 ? `The same bridge run from its sources through tsx holds ${memText(s.tsxReadyMemory)} at ready. ` : '') +
    (over ? 'The target is out of reach before any download: at ready the process already holds the Node binary and native libraries (file-backed pages, shared with the page cache) plus the heap of the loaded modules (libp2p, noise, yamux, WebRTC with node-datachannel, express, zod, prom-client). ' : '') +
    `Download speed (POST /download → \`seeding\` event): ${text(spread(d.map(m => speed(m.ms))))} MB/s; the origin (relay /metrics) served ${[...new Set(d.map(x => x.originServed))].join(', ')} bytes per download, ${d.reduce((a, x) => a + x.originHttp, 0)} over HTTP in all; the bridge's /status counted ${[...new Set(d.map(x => x.fromOrigin))].join(', ')} from the origin and ${[...new Set(d.map(x => x.fromPeers))].join(', ')} from peers. Each cached file's SHA-256 matched the source. ${load}`

  const rows: Row[] = [memory]
  if (s.tsxReadyMemory.length === s.readyMemory.length && s.readyMemory.length > 0) {
    const built = s.readyMemory.map(m => mb(m.rss))
    const r = withBaseline(row('diagnostic: RSS at ready of the production build (dist/node/bridge.js)', built, 'MB', { extra: true }),
      built, s.tsxReadyMemory.map(m => mb(m.rss)), 'the same bridge from its sources through tsx, same rounds')
    r.notes = `tools/build.mjs bundles the bridge with its packages into a few ES modules (node-datachannel excepted): no TypeScript compiled at start-up, no loader hooks, one file read instead of ~1,500 modules resolved. Built: ${memText(s.readyMemory)}; through tsx: ${memText(s.tsxReadyMemory)}.`
    rows.push(r)
  }

  if (s.knob.length > 0) {
    const knob = s.knob.map(m => mb(m.end.hwm))
    const r = row(`knob experiment: the same download ${s.knobFlag}, peak RSS (VmHWM)`, knob, 'MB', { extra: true, baseline: med(peaks), baselineName: "the product's bridge (row above, median)" })
    r.ratio = med(knob) / med(peaks)
    const heap = (ms: DownloadMeasure[]): string => `heap used ${formatNumber(med(ms.map(x => mb(x.heapUsed))))} MB of ${formatNumber(med(ms.map(x => mb(x.heapTotal))))} MB, external ${formatNumber(med(ms.map(x => mb(x.external))))} MB`
    const extra = med(knob) - med(peaks)
    r.notes = `Once per bench, after the runs; not what \`npm run bridge\` runs. Ratio against the median of the product's runs (not paired). At ready ${memText(s.knob.map(m => m.idle))} (the product: ${memText(d.map(m => m.idle))}); the 50 ms samples peaked at ${memText(s.knob.map(m => m.sampled))}. ` +
      `V8 at the end: ${heap(s.knob)} (the product: ${heap(d)}); download ${text(spread(s.knob.map(m => speed(m.ms))))} MB/s against ${text(spread(d.map(m => speed(m.ms))))} MB/s. ` +
      `Without the cap the peak is ${formatNumber(Math.abs(extra))} MB ${extra >= 0 ? 'higher' : 'lower'}: ${extra > 0 ? 'heap V8 reserves for its young generation under the download\'s allocations, not memory in use.' : 'the flag does not pay for itself in this run.'}`
    rows.push(r)
  } else if (s.knobError != null) {
    rows.push(row(`knob experiment: the same download ${s.knobFlag}`, [Number.NaN], 'MB', { extra: true, notes: `Failed: ${s.knobError}` }))
  }

  const startup = targeted(withBaseline(row('start-up to ready: spawn → GET /health OK and relay connected, fresh folders, node dist/node/bridge.js', s.bridgeReady, 'ms'),
    s.bridgeReady, s.nodeExit, "node -e '' (spawn → exit)"), STARTUP_TARGET)
  startup.notes = `${s.bridgeReady.length} start-ups (${s.bridgeReady.length / runs} per run, each in a rotating order with the baselines and diagnostics), after warm-up starts that are not counted (the build's files in the page cache, tsx's transform cache for the diagnostic). ` +
    `The API's port is ephemeral, so /health and /stats are asked as soon as the bridge prints its API line; the time ends when both answered (relay_connected true). Fresh folders: a new identity key, an empty cache. ` +
    `Development, for comparison: the same bridge from its sources through tsx is ready in ${text(spread(s.tsxReady))} ms, of which importing its modules (spawn → exit) takes ${text(spread(s.tsxImport))} ms. ${load}`
  rows.push(startup)
  rows.push(withBaseline(row('baseline: the relay\'s own start-up, spawn → GET /health OK, empty library, node dist/node/relay.js', s.relayReady, 'ms'),
    s.relayReady, s.nodeExit, "node -e ''"))
  const cachedBase = perRun(s.bridgeReady, runs)
  const cached = withBaseline(row(`start-up to ready, restarted over a cache holding the ${GIB} file (already manifested)`, s.bridgeReadyCached, 'ms'),
    s.bridgeReadyCached, cachedBase, 'fresh start-up, same run')
  cached.notes = 'The bridge that downloaded the file, stopped (SIGTERM) and started again on the same folders; checked: /stats says 1 file seeding. ' +
    (s.cachedRehashed.some(x => x)
      ? `In ${s.cachedRehashed.filter(x => x).length} of ${s.cachedRehashed.length} restarts the bridge hashed the file again (its console said so): the scan cache did not recognise it.`
      : 'The bridge printed no hashing line in any restart: the scan cache knew the file (size, mtime) and it was seeded without being read again.')
  rows.push(cached)
  if (s.tsxReady.length === s.bridgeReady.length) {
    rows.push(withBaseline(row('diagnostic: start-up to ready of the same bridge from its sources through tsx (development)', s.tsxReady, 'ms', { extra: true }),
      s.tsxReady, s.bridgeReady, 'the production build, same rounds'))
  }
  const tsx = withBaseline(row('diagnostic: node --import tsx, import the bridge\'s modules (node-bridge/bridge.ts) and exit', s.tsxImport, 'ms', { extra: true }),
    s.tsxImport, s.nodeExit, "node -e ''")
  tsx.notes = 'Module loading only (tsx transforms from its cache, libp2p and the rest evaluated), no node started, no port bound: the part of the start-up that is not the bridge\'s own work.'
  rows.push(tsx)

  const fileRow = row(`baseline: fs.createReadStream of the cached file (defaults: 64 KiB pieces), counted and dropped, ${GIB}`, s.file, 'MB/s')
  fileRow.notes = 'In the bench process, the file just written by the bridge (in the page cache, as it is for /stream): the ceiling of reading it.'
  const plain = withBaseline(row(`baseline: a minimal node:http server (child process) piping fs.createReadStream of the same file, same client, ${GIB}`, s.plainHttp, 'MB/s'),
    s.plainHttp, s.file, 'fs.createReadStream')
  plain.notes = 'The ceiling of an HTTP server on loopback with this client, in a process of its own as the bridge is.'
  const stream = targeted(withBaseline(row(`GET /stream/<file> from the bridge's cache (complete file), node:http client, body counted and dropped, ${GIB}`, s.stream, 'MB/s'),
    s.stream, s.plainHttp, 'the minimal node:http server, same run'), STREAM_TARGET)
  stream.notes = `The bridge child serves from its cache; the client is the bench process. Ratios pair the reads of one run: what the bridge's own handler costs, apart from what HTTP costs (against fs.createReadStream: ${text(spread(pairedRatios(s.stream, s.file)))}). The bytes of /stream were checked once against the source's SHA-256. The four reads (with /videos) rotate their order per run. ${load}`
  const videos = targeted(withBaseline(row(`relay GET /videos/<file> (process of its own, node dist/node/relay.js), same client, ${GIB}`, s.videos, 'MB/s'),
    s.videos, s.plainHttp, 'the minimal node:http server, same run'), STREAM_TARGET)
  videos.notes = `The origin's HTTP fallback as users run it, from its library (the same bytes, in the page cache), in the same rotation as /stream. Its bytes were checked once against the source's SHA-256. ${load}`
  rows.push(fileRow, plain, stream, videos)

  const verified = targeted(withBaseline(row(`bridge GET /stream with serve-time verification vs without, same run: first read after a restart (every chunk hashed), ${GIB}`, s.streamVerifyFirst, 'MB/s'),
    s.streamVerifyFirst, s.streamUnverified, 'a bridge with verification off, same round'), VERIFY_TARGET)
  verified.notes = 'Rounds of four reads of the whole file, two rounds per run: a bridge just restarted over its cache has verified nothing, so its first read hashes every chunk against the manifest (node:crypto SHA-256 on the bridge\'s main thread, two chunks read ahead of the socket), and its second finds every chunk remembered; ' +
    'then the same folders under a bridge started with verification off (PIPBINGO_BENCH_UNVERIFIED_READS=1, the bench\'s internal switch) read twice. Ratios pair the reads of one round. ' +
    `Steady state, second reads: ${text(spread(s.streamVerifySteady))} MB/s verifying vs ${text(spread(s.streamUnverifiedAgain))} MB/s without, ratio ${text(spread(pairedRatios(s.streamVerifySteady, s.streamUnverifiedAgain)))}. ` +
    `CPU time of the bridge process per read of the ${GIB} file (all threads / main thread, s, median), which other work on the machine skews far less than throughput: ` +
    `first read ${cpuText(s.streamCpu.first)}, second read ${cpuText(s.streamCpu.steady)}, verification off ${cpuText(s.streamCpu.off)}. ${load}`
  const steady = withBaseline(row(`diagnostic: the same, steady state: second read, every chunk verified and remembered, ${GIB}`, s.streamVerifySteady, 'MB/s', { extra: true }),
    s.streamVerifySteady, s.streamUnverifiedAgain, 'second read with verification off, same round')
  rows.push(verified, steady)
  return rows
}
