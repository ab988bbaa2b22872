import { readFileSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { measureDownload, type DownloadMeasure } from '../lib/bridge-download'
import { MemorySampler, procCpu, procMemory, spawnNode, startBridgeProcess, startRelayProcess, stopProcess, timeToExit, type BridgeEntry, type BridgeProcess, type ProcMemory } from '../lib/bridge-process'
import { readFileStream, readUrl, startPlainFileServer } from '../lib/bridge-read'
import { sha256OfFile, writePseudoRandomFile } from '../lib/files'
import { startBenchRelay, type BenchRelay } from '../lib/relay'
import { megabytesPerSecond, MiB } from '../lib/stats'
import type { BenchContext, Row } from '../types'
import { bridgeRows, type BridgeSamples } from './bridge-rows'

export const name = 'bridge'

export const SIZE = 1024 * MiB
export const FILENAME = 'bench-bridge-1gib.mp4'
/** Rounds per run of the serve-time verification reads (each: a verifying bridge reads twice, an unverifying one twice). */
const VERIFY_ROUNDS = 2
/** Start-ups measured per run: they are short and noisy. */
const STARTS_PER_RUN = 2
/** The knob experiment: the bridge without the daemons' V8 flags (DAEMON_NODE_FLAGS: a young generation capped), Node's defaults. */
const KNOB = 'without --max-semi-space-size=1 (Node\'s default young generation)'

interface Env {
  ctx: BenchContext
  dir: string
  relay: BenchRelay
  /** `http://…/videos/<file>` of a relay process (the production build) over the same library: `GET /videos` against the minimal server. */
  videosUrl: string
  expected: string
  samples: BridgeSamples
}

/**
 * The bridge daemon as a user runs it: a child process
 * `node dist/node/bridge.js` (what `npm run bridge` runs, the production
 * build of tools/build.mjs),
 * every port ephemeral, against a real relay (createRelay, in this process)
 * whose temporary library holds a 1 GiB file of pseudo-random bytes.
 * Per run:
 * 1. start-ups, in a rotating order: the bridge to ready (spawn → `/health`
 *    OK and `/stats` relay_connected) with fresh folders; baselines `node -e ''`
 *    (spawn → exit) and the relay's own start-up (`node dist/node/relay.js`,
 *    spawn → `/health` OK, empty library); diagnostics: the bridge's modules
 *    imported through tsx (spawn → exit), and the same bridge run from its
 *    sources through tsx (development);
 * 2. memory: a fresh bridge downloads the 1 GiB file (POST /download → the
 *    `seeding` event on /events) while /proc/<pid>/status is sampled every
 *    50 ms; the row is the kernel's VmHWM (peak RSS since spawn) at the end;
 * 3. throughput: `GET /stream/<file>` of that bridge (the file now in its
 *    cache), `GET /videos/<file>` of a relay process over the library,
 *    fs.createReadStream of the same file, and a minimal node:http server
 *    (its own child process) sending that file, in a rotating order;
 * 4. the same bridge restarted over its cache (1 GiB file held) to ready;
 *    then, twice over, GET /stream twice from a bridge that has verified
 *    nothing yet (the first read hashes every chunk, the second finds them
 *    verified) and twice from the same folders under a bridge started with
 *    serve-time verification off (PIPBINGO_BENCH_UNVERIFIED_READS=1).
 * Once at the end, a knob experiment: the download again with V8's young
 * generation capped. The load average is recorded before and after: other
 * work on the machine skews every figure here.
 */
export async function run (ctx: BenchContext): Promise<Row[]> {
  const dir = await ctx.tempDir('bridge-')
  const libraryDir = join(dir, 'library')
  await mkdir(libraryDir)
  let t = performance.now()
  ctx.progress(`${name}: writing ${SIZE / MiB} MiB of pseudo-random bytes`)
  const expected = await writePseudoRandomFile(join(libraryDir, FILENAME), SIZE, 4)
  ctx.progress(`${name}: written in ${((performance.now() - t) / 1000).toFixed(1)} s; starting the relay (it hashes its library)`)
  t = performance.now()
  const relay = await startBenchRelay(libraryDir, join(dir, 'relay'))
  // the HTTP origin as users run it, a process of its own like the minimal server it is compared with
  const relayProcess = await startRelayProcess(join(dir, 'relay-process'), { libraryDir }).catch(async err => { await relay.stop(); throw err })
  ctx.progress(`${name}: relays up in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  const samples: BridgeSamples = {
    nodeExit: [], tsxImport: [], relayReady: [], bridgeReady: [], tsxReady: [], bridgeReadyCached: [], cachedRehashed: [],
    readyMemory: [], tsxReadyMemory: [], downloads: [], knob: [], streamPeak: [],
    stream: [], videos: [], file: [], plainHttp: [], streamVerifyFirst: [], streamVerifySteady: [], streamUnverified: [], streamUnverifiedAgain: [], streamCpu: { first: [], steady: [], off: [] }, load: [loadAverage()], knobFlag: KNOB
  }
  try {
    const env: Env = { ctx, dir, relay, videosUrl: `${relayProcess.httpUrl}/videos/${encodeURIComponent(FILENAME)}`, expected, samples }
    samples.nodeMemory = await bareNodeMemory()
    // warm-up, not counted: the page cache of the build, tsx's transform cache (for the diagnostic)
    ctx.progress(`${name}: warm-up starts (the build's files read once, tsx compiles and caches the bridge's modules)`)
    for (const kind of ['built', 'tsx'] as const) await stopProcess(await startBridgeProcess({ kind }, await folders(env, `warm-up-${kind}`)))
    for (let r = 0; r < ctx.runs; r++) {
      const tag = `${name} run ${r + 1}/${ctx.runs}`
      for (let k = 0; k < STARTS_PER_RUN; k++) await startUps(env, `${tag}.${k + 1}`, r * STARTS_PER_RUN + k)
      await downloadAndStream(env, tag, r)
    }
    await knobExperiment(env)
  } finally {
    samples.load.push(loadAverage())
    await relay.stop()
    await stopProcess(relayProcess)
    await rm(dir, { recursive: true, force: true })
  }
  return bridgeRows(samples)
}

/** The 1-minute load average: other work on the machine shows here. */
function loadAverage (): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
}

async function folders (env: Env, label: string): Promise<{ relayHttp: string, cacheDir: string, dataDir: string, root: string }> {
  const root = join(env.dir, label)
  await mkdir(root, { recursive: true })
  return { relayHttp: env.relay.relay.httpUrl(), cacheDir: join(root, 'cache'), dataDir: join(root, 'data'), root }
}

/** What a bare `node` holds resident: the floor under any Node program. */
async function bareNodeMemory (): Promise<ProcMemory> {
  const p = spawnNode(['-e', 'process.stdout.write(require("fs").readFileSync("/proc/self/status", "utf8"))'])
  await p.exited
  const text = p.output.join('\n')
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') }
}

/** One round of start-ups, each process stopped before the next starts; the order rotates with `turn`. */
async function startUps (env: Env, tag: string, turn: number): Promise<void> {
  const { samples, ctx } = env
  const bridgeOnce = async (entry: BridgeEntry, label: string): Promise<{ ms: number, memory: ProcMemory }> => {
    const f = await folders(env, `start-${label}-${turn}`)
    const bridge = await startBridgeProcess(entry, f)
    try {
      return { ms: bridge.readyMs, memory: await procMemory(bridge.pid) }
    } finally {
      await stopProcess(bridge)
      await rm(f.root, { recursive: true, force: true })
    }
  }
  const steps: Array<() => Promise<string>> = [
    async () => {
      const ms = await timeToExit(['-e', ''])
      samples.nodeExit.push(ms)
      return `node -e '' ${ms.toFixed(0)} ms`
    },
    async () => {
      const relayDir = join(env.dir, `relay-start-${turn}`)
      await mkdir(join(relayDir, 'library'), { recursive: true })
      const relay = await startRelayProcess(relayDir)
      await stopProcess(relay)
      await rm(relayDir, { recursive: true, force: true })
      samples.relayReady.push(relay.readyMs)
      return `relay ${relay.readyMs.toFixed(0)} ms`
    },
    async () => {
      const { ms, memory } = await bridgeOnce({ kind: 'built' }, 'built')
      samples.bridgeReady.push(ms)
      samples.readyMemory.push(memory)
      return `bridge ${ms.toFixed(0)} ms (RSS ${(memory.rss / 1e6).toFixed(0)} MB)`
    },
    async () => {
      const ms = await timeToExit(['--import', 'tsx', '--input-type=module', '-e', "await import('./node-bridge/bridge.ts')"])
      samples.tsxImport.push(ms)
      return `tsx import of the bridge's modules ${ms.toFixed(0)} ms`
    },
    async () => {
      const { ms, memory } = await bridgeOnce({ kind: 'tsx' }, 'tsx')
      samples.tsxReady.push(ms)
      samples.tsxReadyMemory.push(memory)
      return `bridge through tsx ${ms.toFixed(0)} ms (RSS ${(memory.rss / 1e6).toFixed(0)} MB)`
    }
  ]
  const said: string[] = []
  for (let k = 0; k < steps.length; k++) said.push(await steps[(k + turn) % steps.length]!())
  ctx.progress(`${tag}: start-ups: ${said.join(', ')}`)
}

/** Memory while downloading the 1 GiB file, then /stream vs the disk, then a restart over the full cache. */
async function downloadAndStream (env: Env, tag: string, r: number): Promise<void> {
  const { samples, ctx } = env
  const f = await folders(env, `download-${r}`)
  let bridge: BridgeProcess | undefined = await startBridgeProcess({ kind: 'built' }, f)
  try {
    const m = await measureDownload(bridge, env.relay, FILENAME)
    samples.downloads.push(m)
    ctx.progress(`${tag}: ${describe(m)}`)
    const cached = join(f.cacheDir, FILENAME)
    if (await sha256OfFile(cached) !== env.expected) throw new Error('the bridge\'s cached file differs from the source')

    // GET /stream from the cache vs the same file read from disk, in a rotating order
    const streamUrl = `${bridge.url}/stream/${encodeURIComponent(FILENAME)}`
    if (r === 0 && (await readUrl(streamUrl, { hash: true })).sha256 !== env.expected) throw new Error('GET /stream sent other bytes than the file')
    if (r === 0 && (await readUrl(env.videosUrl, { hash: true })).sha256 !== env.expected) throw new Error('GET /videos sent other bytes than the file')
    const pid = bridge.pid
    const reads: Array<[number[], () => Promise<{ bytes: number, ms: number }>, string]> = [
      [samples.stream, async () => {
        const sampler = new MemorySampler(pid, 50)
        try {
          return await readUrl(streamUrl)
        } finally {
          const peak = await sampler.stop()
          if (peak != null) samples.streamPeak.push(peak)
        }
      }, 'GET /stream'],
      [samples.file, async () => await readFileStream(cached), 'fs.createReadStream'],
      [samples.videos, async () => await readUrl(env.videosUrl), 'relay GET /videos'],
      [samples.plainHttp, async () => {
        const server = await startPlainFileServer(cached)
        try {
          return await readUrl(server.url)
        } finally {
          await server.stop()
        }
      }, 'plain node:http server']
    ]
    const said: string[] = []
    for (let k = 0; k < reads.length; k++) {
      const [into, read, what] = reads[(k + r) % reads.length]!
      const result = await read()
      if (result.bytes !== SIZE) throw new Error(`${what} gave ${result.bytes} bytes, expected ${SIZE}`)
      into.push(megabytesPerSecond(SIZE, result.ms))
      said.push(`${what} ${megabytesPerSecond(SIZE, result.ms).toFixed(0)} MB/s`)
    }
    ctx.progress(`${tag}: ${said.join(', ')}`)

    await stopProcess(bridge)
    bridge = await startBridgeProcess({ kind: 'built' }, f)
    const stats = await (await fetch(`${bridge.url}/stats`)).json()
    if (stats.seeding_files !== 1) throw new Error(`the restarted bridge seeds ${stats.seeding_files} files, expected 1`)
    samples.bridgeReadyCached.push(bridge.readyMs)
    samples.cachedRehashed.push(bridge.output.some(line => line.includes('Analyse de')))
    ctx.progress(`${tag}: restart over the 1 GiB cache: ready in ${bridge.readyMs.toFixed(0)} ms`)

    // serve-time verification, in rounds that alternate: a bridge that has verified nothing
    // yet (just restarted) reads GET /stream twice (the first read hashes every chunk, the
    // second finds them remembered); then the same folders under a bridge started with
    // verification off (the bench's internal switch) twice; then a verifying bridge again
    const rounds: string[] = []
    const timed = async (into: number[], what: string, cpu: Array<{ process: number, main: number }>): Promise<void> => {
      const before = await procCpu(bridge!.pid)
      const read = await readUrl(streamUrlOf(bridge!))
      const after = await procCpu(bridge!.pid)
      if (read.bytes !== SIZE) throw new Error(`GET /stream (${what}) gave ${read.bytes} bytes, expected ${SIZE}`)
      into.push(megabytesPerSecond(SIZE, read.ms))
      cpu.push({ process: after.process - before.process, main: after.main - before.main })
      rounds.push(`${what} ${megabytesPerSecond(SIZE, read.ms).toFixed(0)} (CPU ${(after.process - before.process).toFixed(2)} s)`)
    }
    for (let k = 0; k < VERIFY_ROUNDS; k++) {
      if (k > 0) {
        await stopProcess(bridge)
        bridge = await startBridgeProcess({ kind: 'built' }, f)
      }
      await timed(samples.streamVerifyFirst, 'first read (hashes)', samples.streamCpu.first)
      await timed(samples.streamVerifySteady, 'second read (remembered)', samples.streamCpu.steady)
      await stopProcess(bridge)
      bridge = await startBridgeProcess({ kind: 'built' }, f, { env: { PIPBINGO_BENCH_UNVERIFIED_READS: '1' } })
      await timed(samples.streamUnverified, 'verification off', samples.streamCpu.off)
      await timed(samples.streamUnverifiedAgain, 'verification off, again', samples.streamCpu.off)
    }
    ctx.progress(`${tag}: GET /stream after restarts, MB/s: ${rounds.join(', ')}`)
  } finally {
    if (bridge != null) await stopProcess(bridge)
    await rm(f.root, { recursive: true, force: true })
  }
}

function streamUrlOf (bridge: BridgeProcess): string {
  return `${bridge.url}/stream/${encodeURIComponent(FILENAME)}`
}

/**
 * Once per bench: the same download with Node's default young generation
 * (the daemons' --max-semi-space-size=1 left out), to tell the memory the
 * download uses from the heap V8 reserves for it, and to keep the flag's
 * choice measured. Not the product's configuration: a failure here is
 * reported in its row, it does not fail the suite.
 */
async function knobExperiment (env: Env): Promise<void> {
  const f = await folders(env, 'knob')
  let bridge: BridgeProcess | undefined
  try {
    bridge = await startBridgeProcess({ kind: 'built' }, f, { nodeArgs: [] })
    const m = await measureDownload(bridge, env.relay, FILENAME)
    if (await sha256OfFile(join(f.cacheDir, FILENAME)) !== env.expected) throw new Error('the bridge\'s cached file differs from the source')
    env.samples.knob.push(m)
    env.ctx.progress(`${name} knob ${KNOB}: ${describe(m)}`)
  } catch (err: any) {
    env.samples.knobError = `${err?.message ?? err}`.split('\n')[0]
    env.ctx.progress(`${name} knob ${KNOB} failed: ${err?.message ?? err}${bridge != null ? `\n${bridge.output.slice(-10).join('\n')}` : ''}`)
  } finally {
    if (bridge != null) await stopProcess(bridge)
    await rm(f.root, { recursive: true, force: true })
  }
}

function describe (m: DownloadMeasure): string {
  return `1 GiB downloaded in ${(m.ms / 1000).toFixed(1)} s (${megabytesPerSecond(SIZE, m.ms).toFixed(0)} MB/s); RSS at ready ${(m.idle.rss / 1e6).toFixed(0)} MB, ` +
    `peak (VmHWM) ${(m.end.hwm / 1e6).toFixed(0)} MB, sampled max ${(m.sampled.rss / 1e6).toFixed(0)} MB over ${m.samples} samples; heap ${(m.heapUsed / 1e6).toFixed(0)}/${(m.heapTotal / 1e6).toFixed(0)} MB, external ${(m.external / 1e6).toFixed(0)} MB`
}
