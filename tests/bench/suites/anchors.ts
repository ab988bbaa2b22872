import { readFileSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { httpGet, leech, startSeeder, writeChildScripts, type ChildDownload, type Seeder } from '../lib/anchors-children'
import { prepareAnchorTools, type AnchorTools } from '../lib/anchors-setup'
import { measureDownload } from '../lib/bridge-download'
import { procCpu, startBridgeProcess, startRelayProcess, stopProcess, type RelayProcess } from '../lib/bridge-process'
import { sha256OfFile, writePseudoRandomFile } from '../lib/files'
import { servedBytesOf } from '../lib/relay'
import { megabytesPerSecond, MiB, pairedRatios, spread } from '../lib/stats'
import { formatNumber } from '../table'
import { checkTarget, type BenchContext, type Row, type Target } from '../types'

export const name = 'anchors'

const SIZE = 256 * MiB
const MB = `${SIZE / MiB} MiB`
const FILENAME = 'bench-anchors-256mib.mp4'
const SPEED_TARGET: Target = { of: 'ratio', op: '>=', limit: 1.5 }
const RSS_TARGET: Target = { of: 'ratio', op: '<=', limit: 0.8 }

type Contender = 'webtorrent' | 'bridge' | 'http'
const CONTENDERS: Contender[] = ['webtorrent', 'bridge', 'http']

/** One download, seen from the downloading process (and the serving side's CPU meanwhile). */
interface Sample {
  ms: number
  peakRss: number
  cpuSeconds: number
  /** CPU of the side that served: the WebTorrent seeder's process, or the relay's. */
  serverCpu: number
  /** Bridge only: bytes the relay served over HTTP (its fallback) rather than libp2p. */
  overHttp?: number
}

interface Env {
  ctx: BenchContext
  dir: string
  /** The relay as `npm run relay` runs it (the production build), a process of its own like the seeder. */
  relay: RelayProcess
  seeder: Seeder
  tools: AnchorTools
  expected: string
}

/**
 * The project against an outside anchor, in the same run: WebTorrent 3
 * Node → Node, the bridge from the relay, and a plain HTTP GET, each
 * downloading the same 256 MiB file of pseudo-random bytes over loopback,
 * each in a fresh process of its own whose speed, peak RSS and CPU seconds
 * are measured (of the serving side, only its CPU, in the notes). WebTorrent is installed with npm
 * into a throw-away folder, outside the project's dependencies, and runs on
 * the project's Node 24; where that cannot be done the suite reports one
 * skipped row. Per run the three go in turn, the order rotating.
 */
export async function run (ctx: BenchContext): Promise<Row[]> {
  const dir = await ctx.tempDir('anchors-')
  try {
    const toolsDir = join(dir, 'webtorrent')
    await mkdir(toolsDir)
    const tools = await prepareAnchorTools(toolsDir, message => { ctx.progress(`${name}: ${message}`) })
    if ('why' in tools) {
      ctx.progress(`${name}: skipped: ${tools.why}`)
      return [{ suite: name, name: 'skipped: WebTorrent 3 vs the bridge vs plain HTTP', value: Number.NaN, unit: '', notes: `Skipped: ${tools.why}` }]
    }
    await writeChildScripts(tools)
    return await measureAll(ctx, dir, tools)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function measureAll (ctx: BenchContext, dir: string, tools: AnchorTools): Promise<Row[]> {
  const libraryDir = join(dir, 'library')
  await mkdir(libraryDir)
  ctx.progress(`${name}: webtorrent ${tools.webtorrentVersion} installed; writing ${MB} of pseudo-random bytes`)
  const file = join(libraryDir, FILENAME)
  const expected = await writePseudoRandomFile(file, SIZE, 5)
  ctx.progress(`${name}: starting the relay and the WebTorrent seeder (each hashes the file)`)
  const relay = await startRelayProcess(join(dir, 'relay'), { libraryDir })
  let seeder: Seeder | undefined
  try {
    seeder = await startSeeder(tools, file)
    const env: Env = { ctx, dir, relay, seeder, tools, expected }
    // warm-up, not counted: the disk cache of the build and of node_modules
    await stopProcess(await startBridgeProcess({ kind: 'built' }, await folders(env, 'warm-up')))
    const samples: Record<Contender, Sample[]> = { webtorrent: [], bridge: [], http: [] }
    const load = [loadAverage()]
    for (let r = 0; r < ctx.runs; r++) {
      const order = [...CONTENDERS.slice(r % CONTENDERS.length), ...CONTENDERS.slice(0, r % CONTENDERS.length)]
      for (const who of order) {
        const s = await DOWNLOAD[who](env, `${who}-${r}`)
        samples[who].push(s)
        ctx.progress(`${name} run ${r + 1}/${ctx.runs}: ${who} ${megabytesPerSecond(SIZE, s.ms).toFixed(0)} MB/s (${(s.ms / 1000).toFixed(2)} s), peak RSS ${(s.peakRss / 1e6).toFixed(0)} MB, CPU ${s.cpuSeconds.toFixed(2)} s (serving side ${s.serverCpu.toFixed(2)} s)`)
      }
    }
    load.push(loadAverage())
    return rows(samples, tools, seeder, load)
  } finally {
    await seeder?.stop()
    await stopProcess(relay)
  }
}

/** The 1-minute load average: other work on the machine shows here, and skews every figure. */
function loadAverage (): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
}

async function folders (env: Env, label: string): Promise<{ relayHttp: string, cacheDir: string, dataDir: string }> {
  const root = join(env.dir, label)
  await mkdir(root)
  return { relayHttp: env.relay.httpUrl, cacheDir: join(root, 'cache'), dataDir: join(root, 'data') }
}

/** The downloaded file must be the source, byte for byte; it is removed once checked. */
async function verified (path: string, env: Env, who: string): Promise<void> {
  if (await sha256OfFile(path) !== env.expected) throw new Error(`${who}: the downloaded file differs from the source`)
  await rm(path)
}

/** The child's own figures, and the serving side's CPU over the same download. */
function fromChild (d: ChildDownload, serverCpu: number): Sample {
  return { ms: d.ms, peakRss: d.peakRss, cpuSeconds: d.cpuSeconds, serverCpu }
}

/** The relay process's CPU over `fn`, seconds. */
async function withRelayCpu<T> (env: Env, fn: () => Promise<T>): Promise<{ result: T, cpu: number }> {
  const pid = env.relay.child.pid!
  const before = await procCpu(pid)
  const result = await fn()
  const after = await procCpu(pid)
  return { result, cpu: after.process - before.process }
}

const DOWNLOAD: Record<Contender, (env: Env, label: string) => Promise<Sample>> = {
  async webtorrent (env, label) {
    const into = join(env.dir, label)
    await mkdir(into)
    const before = await procCpu(env.seeder.pid)
    const d = await leech(env.tools, env.seeder, into)
    const after = await procCpu(env.seeder.pid)
    await verified(d.path, env, 'WebTorrent')
    return fromChild(d, after.process - before.process)
  },

  async http (env, label) {
    const url = `${env.relay.httpUrl}/videos/${encodeURIComponent(FILENAME)}`
    const { result, cpu } = await withRelayCpu(env, async () => await httpGet(env.tools, url, join(env.dir, `${label}.bin`)))
    await verified(result.path, env, 'plain HTTP')
    return fromChild(result, cpu)
  },

  /** A fresh bridge per download, so its VmHWM (peak RSS since spawn) is this download's. */
  async bridge (env, label) {
    const f = await folders(env, label)
    const bridge = await startBridgeProcess({ kind: 'built' }, f)
    try {
      const before = await procCpu(bridge.pid)
      const { result: m, cpu } = await withRelayCpu(env, async () => await measureDownload(bridge, { servedBytes: async () => await servedBytesOf(env.relay.httpUrl) }, FILENAME))
      const after = await procCpu(bridge.pid)
      if (m.fromOrigin !== SIZE || m.fromPeers !== 0) throw new Error(`the bridge counted ${m.fromOrigin} bytes from the origin and ${m.fromPeers} from peers, expected ${SIZE} and 0`)
      await verified(join(f.cacheDir, FILENAME), env, 'bridge')
      return { ms: m.ms, peakRss: m.end.hwm, cpuSeconds: after.process - before.process, serverCpu: cpu, overHttp: m.originHttp }
    } finally {
      await stopProcess(bridge)
      await rm(join(env.dir, label), { recursive: true, force: true })
    }
  }
}

interface Metric {
  unit: string
  of: (s: Sample) => number
  what: string
}

const METRICS = {
  speed: { unit: 'MB/s', of: (s: Sample) => megabytesPerSecond(SIZE, s.ms), what: 'download speed' },
  rss: { unit: 'MB', of: (s: Sample) => s.peakRss / 1e6, what: 'peak RSS of the downloading process' },
  cpu: { unit: 's', of: (s: Sample) => s.cpuSeconds, what: 'CPU seconds of the downloading process (user + system, all threads)' }
} satisfies Record<string, Metric>

function rows (samples: Record<Contender, Sample[]>, tools: AnchorTools, seeder: Seeder, load: number[]): Row[] {
  const values = (m: Metric, who: Contender): number[] => samples[who].map(m.of)
  const med = (xs: number[]): number => spread(xs).median
  const row = (m: Metric, who: Contender, label: string, more: Partial<Row> = {}): Row => {
    const s = spread(values(m, who))
    return { suite: name, name: `${label}: ${m.what}, ${MB}`, value: s.median, range: [s.min, s.max], runs: s.runs, unit: m.unit, ...more }
  }
  const against = (m: Metric, who: Contender, base: Contender, baseName: string, label: string, target?: Target): Row => {
    const ratio = spread(pairedRatios(values(m, who), values(m, base)))
    const r = row(m, who, label, { baseline: med(values(m, base)), baselineName: baseName, ratio: ratio.median, ratioRange: [ratio.min, ratio.max], target })
    return target == null ? r : { ...r, met: checkTarget(target, r) }
  }
  const wt = `WebTorrent ${tools.webtorrentVersion} Node → Node`
  const bridgeName = 'bridge / WebTorrent: a fresh bridge from the relay (POST /download → seeding)'
  const serving = (who: Contender): string => formatNumber(med(samples[who].map(s => s.serverCpu)))
  const httpShare = samples.bridge.reduce((n, s) => n + (s.overHttp ?? 0), 0) / (SIZE * samples.bridge.length)
  const sameNode = process.versions.node === tools.nodeVersion ? `Node ${tools.nodeVersion} for all three` : `WebTorrent and HTTP on Node ${tools.nodeVersion}, the bridge on this bench's Node ${process.versions.node}`
  return [
    row(METRICS.speed, 'http', 'baseline: plain HTTP GET /videos/<file> from the relay, Node fetch → file, child process', {
      notes: `Timed in the child from the request to the file flushed (fdatasync). Peak RSS ${formatNumber(med(values(METRICS.rss, 'http')))} MB, CPU ${formatNumber(med(values(METRICS.cpu, 'http')))} s; the relay (\`node dist/node/relay.js\`, a process of its own) used ${serving('http')} s meanwhile.`
    }),
    against(METRICS.speed, 'webtorrent', 'http', 'plain HTTP', `${wt}, one seeder, loopback TCP`),
    {
      ...against(METRICS.speed, 'bridge', 'webtorrent', 'WebTorrent', bridgeName, SPEED_TARGET),
      notes: `Same run, in turn, the order rotating each run; each download by a fresh process, into a fresh folder, its SHA-256 checked against the source (all matched). ${sameNode}. ` +
        `WebTorrent: webtorrent@${tools.webtorrentVersion} installed by npm (--ignore-scripts) into a temporary folder, node-datachannel overridden to a version with a prebuilt binary; seeder and leecher with dht, tracker, lsd, utp, webSeeds, natUpnp and natPmp off, listening on 127.0.0.1 only; ` +
        `the leecher gets the .torrent file (piece length ${seeder.pieceLength / 1024} KiB, the default for this size) and addPeer()s the seeder; timed from add() to 'done' with the file flushed (fdatasync), module loading not counted. ` +
        `Bridge: the production build as \`npm run bridge\` runs it (dist/node/bridge.js), timed from POST /download to the seeding event; it took ${formatNumber(httpShare * 100)} % of the bytes over the relay's HTTP fallback, the rest over libp2p (noise + yamux; the BitTorrent wire is unencrypted). ` +
        `Serving side, CPU seconds per download: the WebTorrent seeder ${serving('webtorrent')}, the relay ${serving('bridge')} (\`node dist/node/relay.js\`, as \`npm run relay\` runs it). ` +
        `Load average (1 min) before the first download and after the last: ${load.map(formatNumber).join(' and ')} on ${cpus().length} cores.`
    },
    row(METRICS.rss, 'http', 'baseline: plain HTTP client (as above)', {
      notes: 'VmHWM of the child (/proc/self/status at the end): the peak RSS of its own program since it started, module loading included (not getrusage\'s ru_maxrss, which on Linux carries the RSS of the parent at fork: 1,658 MB in a full bench). The floor of a Node process that downloads.'
    }),
    against(METRICS.rss, 'webtorrent', 'http', 'plain HTTP', `${wt}, the leecher`),
    {
      ...against(METRICS.rss, 'bridge', 'webtorrent', 'WebTorrent', 'bridge / WebTorrent', RSS_TARGET),
      notes: 'The bridge\'s VmHWM (the kernel\'s peak RSS since spawn, /proc/<pid>/status) once seeding; the leecher\'s VmHWM, the same quantity since its start. Both include start-up: the bridge\'s modules (libp2p, WebRTC, express) are loaded before the download starts, WebTorrent\'s too.'
    },
    row(METRICS.cpu, 'http', 'baseline: plain HTTP client (as above)'),
    against(METRICS.cpu, 'webtorrent', 'http', 'plain HTTP', `${wt}, the leecher`),
    {
      ...against(METRICS.cpu, 'bridge', 'webtorrent', 'WebTorrent', 'bridge / WebTorrent'),
      notes: 'Over the timed download only: the bridge from /proc/<pid>/stat (10 ms ticks) before POST /download and after the seeding event; the children from process.cpuUsage() around the download.'
    }
  ]
}
