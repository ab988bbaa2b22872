import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { DAEMON_NODE_FLAGS } from '../../../node-bridge/node-flags'

/** The repository: child processes run there, as `npm run bridge` does. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** How a bridge is started: the production build `npm run bridge` runs (dist/node/bridge.js), or its sources through tsx (development, the tests). */
export type BridgeEntry = { kind: 'built' } | { kind: 'tsx' }

/** The programs tools/build.mjs bundles. */
const BUILT = { bridge: join(REPO_ROOT, 'dist', 'node', 'bridge.js'), relay: join(REPO_ROOT, 'dist', 'node', 'relay.js') }

/** Build dist/node if its sources changed since its last build, as `npm run bridge` and `npm run relay` do first. The bench calls it once, before any suite. */
export async function ensureNodeBuild (): Promise<void> {
  await timeToExit([join(REPO_ROOT, 'tools', 'build.mjs'), 'node', '--quiet'])
}

/** Memory of a process, from /proc/<pid>/status, in bytes. */
export interface ProcMemory {
  /** VmRSS: resident now. */
  rss: number
  /** VmHWM: the largest VmRSS since the process started (the kernel keeps it). */
  hwm: number
  /** RssAnon: heap, stacks, V8: memory only this process uses. */
  anon: number
  /** RssFile: file-backed pages (the node binary, native libraries), shared with the page cache. */
  file: number
}

export async function procMemory (pid: number): Promise<ProcMemory> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)
    if (match == null) throw new Error(`/proc/${pid}/status has no ${field}`)
    return Number(match[1]) * 1024
  }
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') }
}

/**
 * CPU time a process has used so far, in seconds (user + system, from
 * /proc/<pid>/stat): `process` over all its threads, `main` its main
 * thread's alone (/proc/<pid>/task/<pid>/stat). Clock ticks of 10 ms.
 */
export async function procCpu (pid: number): Promise<{ process: number, main: number }> {
  const seconds = async (path: string): Promise<number> => {
    const text = await readFile(path, 'utf8')
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ') // after "pid (comm) ": state is field 3
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime: fields 14 and 15
  }
  const [all, main] = await Promise.all([seconds(`/proc/${pid}/stat`), seconds(`/proc/${pid}/task/${pid}/stat`)])
  return { process: all, main }
}

/** Samples a process's memory every `everyMs` until `stop()`; the sample with the largest RSS is kept. */
export class MemorySampler {
  max: ProcMemory | undefined
  samples = 0
  private readonly timer: ReturnType<typeof setInterval>

  constructor (private readonly pid: number, everyMs = 50) {
    this.timer = setInterval(() => { void this.sample() }, everyMs)
  }

  async sample (): Promise<void> {
    try {
      const m = await procMemory(this.pid)
      this.samples++
      if (this.max == null || m.rss > this.max.rss) this.max = m
    } catch {} // the process has just exited
  }

  async stop (): Promise<ProcMemory | undefined> {
    clearInterval(this.timer)
    await this.sample()
    return this.max
  }
}

export interface Spawned {
  child: ChildProcess
  /** Every line printed (stdout and stderr). */
  output: string[]
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>
  /** Resolves with the first stdout line `pattern` matches (and when it was printed, performance.now()); rejects if the process exits first or `timeoutMs` passes. */
  line(pattern: RegExp, timeoutMs?: number): Promise<{ match: RegExpExecArray, at: number }>
}

/** Spawn `node` (this Node) with `args` in the repository, lines of its output collected. */
export function spawnNode (args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Spawned {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: '', ...options.env } })
  const output: string[] = []
  const listeners = new Set<(line: string, at: number) => void>()
  const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
  createInterface({ input: child.stderr! }).on('line', line => output.push(line))
  createInterface({ input: child.stdout! }).on('line', line => {
    const at = performance.now()
    output.push(line)
    for (const l of listeners) l(line, at)
  })
  return {
    child,
    output,
    exited,
    line: async (pattern, timeoutMs = 30_000) => await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { done(); reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${output.join('\n')}`)) }, timeoutMs)
      const listener = (line: string, at: number): void => {
        const match = pattern.exec(line)
        if (match != null) { done(); resolve({ match, at }) }
      }
      const done = (): void => { clearTimeout(timer); listeners.delete(listener) }
      listeners.add(listener)
      void exited.then(code => { done(); reject(new Error(`the process exited (${code}) before printing ${pattern}:\n${output.join('\n')}`)) })
    })
  }
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it has exited. */
export async function stopProcess (p: Pick<Spawned, 'child' | 'exited'>, graceMs = 5_000): Promise<void> {
  if (p.child.exitCode != null || p.child.signalCode != null) return
  p.child.kill('SIGTERM')
  const timer = setTimeout(() => { p.child.kill('SIGKILL') }, graceMs)
  await p.exited
  clearTimeout(timer)
}

export interface BridgeProcess extends Spawned {
  pid: number
  /** `http://127.0.0.1:<port>` of its REST API. */
  url: string
  /** Spawn → `GET /health` answered OK and `GET /stats` said `relay_connected: true`, ms. */
  readyMs: number
}

export interface BridgeFolders {
  relayHttp: string
  cacheDir: string
  dataDir: string
}

/**
 * Start a bridge as a child process, every port ephemeral, and time it to
 * ready: from just before spawn() until `GET /health` has answered `OK` and
 * `GET /stats` has said the relay is connected. The API's port is only
 * known once the bridge prints it (the line `🌐 Local API at
 * sur …`, printed after the API is bound), so both requests go out then; if
 * the relay is not connected yet, the bridge's `✅ Connected` line is awaited.
 */
export async function startBridgeProcess (entry: BridgeEntry, folders: BridgeFolders, options: { nodeArgs?: string[], env?: NodeJS.ProcessEnv } = {}): Promise<BridgeProcess> {
  // `nodeArgs` replaces the daemons' V8 flags (DAEMON_NODE_FLAGS, what npm run bridge passes)
  const script = [...options.nodeArgs ?? DAEMON_NODE_FLAGS, ...entry.kind === 'tsx' ? ['--import', 'tsx', 'node-bridge/main.ts'] : [BUILT.bridge]]
  const started = performance.now()
  const p = spawnNode([...script,
    '--relay-http', folders.relayHttp, '--cache', folders.cacheDir, '--data-dir', folders.dataDir,
    '--api-port', '0', '--p2p-port', '0', '--ws-port', '0', '--ipc-port', '0'], { env: options.env })
  try {
    const connected = p.line(/Connected to the P2P server/)
    connected.catch(() => {})
    const { match } = await p.line(/Local API at (http:\/\/\S+)/)
    const url = (match[1] as string).replace('localhost', '127.0.0.1')
    const [health, stats] = await Promise.all([fetch(`${url}/health`), fetch(`${url}/stats`)])
    if (health.status !== 200 || await health.text() !== 'OK') throw new Error(`GET /health answered ${health.status}`)
    if ((await stats.json() as { relay_connected: boolean }).relay_connected !== true) await connected
    return { ...p, pid: p.child.pid!, url, readyMs: performance.now() - started }
  } catch (err) {
    await stopProcess(p)
    throw err
  }
}

/** A relay process, with what its console said once it listened. */
export interface RelayProcess extends Spawned {
  /** Spawn → `GET /health` OK, ms. */
  readyMs: number
  /** `http://127.0.0.1:<port>`. */
  httpUrl: string
  peerId: string
  /** Its libp2p TCP address, ending in /p2p/<id>. */
  tcpAddr: string
  /** Rejections its guard logged and survived ("unhandled rejection, the relay keeps running"). */
  unhandled(): number
}

/**
 * The relay as `npm run relay` runs it (the production build, dist/node/relay.js),
 * ports ephemeral, timed from spawn to `GET /health` OK (its addresses are
 * read from its console, in English whatever this machine's locale).
 * `libraryDir` defaults to `<dir>/library`; `args` adds flags.
 */
export async function startRelayProcess (dir: string, options: { libraryDir?: string, args?: string[] } = {}): Promise<RelayProcess> {
  const started = performance.now()
  const p = spawnNode([...DAEMON_NODE_FLAGS, BUILT.relay, '--http-port', '0', '--tcp-port', '0', '--ws-port', '0',
    '--library', options.libraryDir ?? join(dir, 'library'), '--data-dir', join(dir, 'data'), '--web-root', join(dir, 'web'),
    '--lang', 'en', ...(options.args ?? [])])
  try {
    // all three awaited from the start: line() sees only lines printed after it is called
    const [{ match: id }, { match: tcp }, { match }] = await Promise.all([
      p.line(/relay peer id (\S+)/, 60_000),
      p.line(/listening on (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)/, 60_000),
      p.line(/✅ open (http:\/\/\S+?)\/\s/, 60_000)
    ])
    const httpUrl = (match[1] as string).replace('localhost', '127.0.0.1')
    const health = await fetch(`${httpUrl}/health`)
    if (health.status !== 200) throw new Error(`the relay's GET /health answered ${health.status}`)
    await health.text()
    return {
      ...p,
      readyMs: performance.now() - started,
      httpUrl,
      peerId: id[1] as string,
      tcpAddr: tcp[1] as string,
      unhandled: () => p.output.filter(l => l.includes('unhandled rejection, the relay keeps running')).length
    }
  } catch (err) {
    await stopProcess(p)
    throw err
  }
}

/** Spawn `node <args>` and time it until it exits (it must exit with 0). */
export async function timeToExit (args: string[]): Promise<number> {
  const started = performance.now()
  const p = spawnNode(args)
  const code = await p.exited
  const ms = performance.now() - started
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}:\n${p.output.join('\n')}`)
  return ms
}
