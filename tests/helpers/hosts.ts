import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Browser } from 'playwright-core'
import { launchChromium, type LaunchOptions } from './chromium'
import { spawnDaemon, type Daemon } from './daemon'
import { createTestNetwork, type Namespace, type TestNetwork } from './netns'

const run = promisify(execFile)

/** `PIPBINGO_TEST_HOSTS`: `netns` (namespaces or fail), `loopback` (the fallback), `auto` or unset (namespaces when they can be made). */
const MODE_ENV = 'PIPBINGO_TEST_HOSTS'
const MODES = ['auto', 'netns', 'loopback'] as const
export type HostsMode = typeof MODES[number]

/** A daemon that has not exited this long after SIGTERM gets SIGKILL. */
const KILL_AFTER_MS = 15_000

/**
 * A test network of separate hosts. In `netns` mode each host is a network
 * namespace of its own on a private subnet (tests/helpers/netns.ts: every
 * host reaches every other and the test process, and nothing else), so
 * traffic between hosts crosses real interfaces. In `loopback` mode, where
 * namespaces cannot be made, each host is a distinct loopback address
 * (127.0.0.2, 127.0.0.3, …): the same processes and flags, but no
 * interface between them, and Chromium gathers no loopback ICE candidates,
 * so tabs cannot do WebRTC there.
 */
export interface Hosts {
  mode: 'netns' | 'loopback'
  /** In `loopback` mode: why (namespaces could not be made, and the error; or the fallback was asked for). */
  reason?: string
  /** In `netns` mode: the subnet's bridge in this namespace, whose address (`network.hostAddress`) the hosts reach the test process on. */
  network?: TestNetwork
  hosts: Host[]
  /** A new host, with its own address. `name` (letters, digits, `-`) labels it and its folders. */
  add(name: string): Promise<Host>
  /** The temporary folder under which every daemon's folders are made. */
  dir: string
  /** Closes the browsers, stops the daemons (SIGTERM, then SIGKILL), removes the namespaces and the folders. Safe to call twice. */
  close(): Promise<void>
}

export interface Host {
  name: string
  /** Its address: the namespace's one on the test subnet, or its own loopback address. */
  address: string
  /** In `netns` mode: the namespace the host's processes run in. */
  netns?: Namespace
  /**
   * `relay/main.ts` in this host, bound to its address. The helper adds
   * `--host`; `--http-port`, `--tcp-port`, `--ws-port` 0 (read back from its
   * console and `/info`); and, each unless `args` has it, `--data-dir`,
   * `--library` and `--web-root` as fresh empty folders (pass a library, and
   * a web root from `buildWebApp`, for pages to load the app).
   * Resolves once it printed its URL and answered `/info`.
   */
  spawnRelay(args?: string[], env?: NodeJS.ProcessEnv): Promise<HostRelay>
  /**
   * `node-bridge/main.ts` in this host: `--host` and `--api-host` its
   * address (the REST API is reached from the test process there), every
   * port 0, and unless `args` has them `--data-dir` and `--cache` fresh
   * folders. Give it `--relay-http <relay.url>`. The IPC stays on the
   * namespace's own 127.0.0.1 (in `netns` mode out of the test's reach).
   * Resolves once it printed its API URL and answered `/stats`.
   */
  spawnBridge(args?: string[], env?: NodeJS.ProcessEnv): Promise<HostBridge>
  /** Chromium in this host; told to treat every relay of these hosts started so far (and `secureOrigins`) as secure contexts. */
  launchChromium(options?: Omit<LaunchOptions, 'netns'>): Promise<Browser>
  /** Run a program inside the host (`ip netns exec`; in `loopback` mode, here). */
  exec(file: string, args: string[]): Promise<string>
  /** The established TCP connections the host's network sees (`ss`; in `loopback` mode, all of this machine's). */
  tcpConnections(): Promise<TcpConnection[]>
}

export interface HostDaemon {
  daemon: Daemon
  pid: number
  host: Host
  /** SIGTERM (SIGKILL after 15 s), resolves once it has exited. */
  stop(): Promise<void>
}

export interface HostRelay extends HostDaemon {
  /** `http://<address>:<port>`. */
  url: string
  peerId: string
  /** As `/info` gives them, each ending in `/p2p/<peerId>`. */
  multiaddrs: string[]
  /** The libp2p TCP address, for `--peer-relay` and bridges' `--relay`. */
  tcp: string
  /** The libp2p WebSocket address (what tabs dial). */
  ws: string
  tcpPort: number
  dataDir: string
  libraryDir: string
  /** A value of its `/metrics`. */
  metric(name: string): Promise<number>
}

export interface HostBridge extends HostDaemon {
  /** The REST API, `http://<address>:<port>`. */
  url: string
  peerId: string
  /** Its libp2p listen addresses (`/stats`). */
  listenAddrs: string[]
  dataDir: string
  cacheDir: string
  api(path: string, init?: RequestInit): Promise<Response>
}

export interface TcpConnection {
  local: { address: string, port: number }
  peer: { address: string, port: number }
  /** The processes holding the socket. */
  pids: number[]
}

/**
 * A test network (see `Hosts`). `mode` defaults to $PIPBINGO_TEST_HOSTS,
 * else `auto`: namespaces when this process may make them (root, `ip`, and
 * CAP_NET_ADMIN: one bridge and one namespace are made to find out), else
 * the loopback fallback, whose `reason` says what failed. `netns` fails
 * instead of falling back.
 */
export async function createHosts (options: { mode?: HostsMode } = {}): Promise<Hosts> {
  const mode = options.mode ?? modeFromEnv()
  const dir = await mkdtemp(join(tmpdir(), 'pipbingo-hosts-'))
  if (mode === 'loopback') {
    return hostsOn(dir, undefined, undefined, options.mode == null ? `${MODE_ENV}=loopback` : 'the test asked for the loopback fallback')
  }
  let network: TestNetwork | undefined
  let first: Namespace
  try {
    network = await createTestNetwork()
    first = await network.addNamespace()
  } catch (err) {
    await network?.close()
    const reason = `network namespaces cannot be made here: ${(err as Error).message}`
    if (mode === 'netns') {
      await rm(dir, { recursive: true, force: true })
      throw new Error(`${reason} (${MODE_ENV}=netns, or the test, asked for them)`)
    }
    return hostsOn(dir, undefined, undefined, reason)
  }
  return hostsOn(dir, network, first)
}

function modeFromEnv (): HostsMode {
  const value = process.env[MODE_ENV]
  if (value == null || value === '') return 'auto'
  if ((MODES as readonly string[]).includes(value)) return value as HostsMode
  throw new Error(`${MODE_ENV}=${value}: expected one of ${MODES.join(', ')}`)
}

/** The hosts on `network` (its first namespace made already), or on loopback addresses when there is none. */
function hostsOn (dir: string, network: TestNetwork | undefined, first: Namespace | undefined, reason?: string): Hosts {
  const hosts: Host[] = []
  const daemons: HostDaemon[] = []
  const browsers: Browser[] = []
  const relayOrigins: string[] = []
  let spare = first
  let closed = false
  // a test process that exits without close() (a crash) leaves no daemon running in a namespace
  const killAll = (): void => { for (const d of daemons) d.daemon.child.kill('SIGKILL') }
  process.on('exit', killAll)

  async function add (name: string): Promise<Host> {
    if (closed) throw new Error('these hosts are closed')
    if (!/^[a-z0-9-]{1,32}$/i.test(name)) throw new Error(`host name "${name}": letters, digits and - only, at most 32`)
    if (hosts.some(h => h.name === name)) throw new Error(`a host "${name}" exists already`)
    let ns: Namespace | undefined
    let address: string
    if (network != null) {
      ns = spare ?? await network.addNamespace()
      spare = undefined
      address = ns.address
    } else {
      if (hosts.length >= 253) throw new Error('at most 253 loopback hosts')
      address = `127.0.0.${hosts.length + 2}`
      await checkBindable(address)
    }
    const home = join(dir, name)
    await mkdir(home)
    const host = makeHost({ name, address, ns, home, network, daemons, browsers, relayOrigins })
    hosts.push(host)
    return host
  }

  return {
    mode: network != null ? 'netns' : 'loopback',
    reason,
    network,
    hosts,
    add,
    dir,
    async close () {
      if (closed) return
      closed = true
      await Promise.allSettled(browsers.map(async b => { await b.close() }))
      await Promise.allSettled(daemons.map(async d => { await d.stop() }))
      process.off('exit', killAll)
      // processes first: a namespace lives on while one runs in it
      await network?.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

interface HostContext {
  name: string
  address: string
  ns: Namespace | undefined
  /** The host's own folder under the hosts' one. */
  home: string
  network: TestNetwork | undefined
  daemons: HostDaemon[]
  browsers: Browser[]
  relayOrigins: string[]
}

function makeHost (c: HostContext): Host {
  const netns = c.ns == null || c.network == null ? undefined : { ip: c.network.ip, name: c.ns.name }
  let made = 0
  /** A fresh folder in the host's own, e.g. `relay-1-data`. */
  const folder = async (label: string): Promise<string> => {
    const path = join(c.home, label)
    await mkdir(path, { recursive: true })
    return path
  }

  const start = (main: string, args: string[], env: NodeJS.ProcessEnv): HostDaemon => {
    const daemon = spawnDaemon(main, args, { PIPBINGO_LANG: 'en', ...env }, { netns })
    const d: HostDaemon = {
      daemon,
      pid: daemon.child.pid ?? -1,
      host,
      stop: async () => { await daemon.stop({ killAfterMs: KILL_AFTER_MS }) }
    }
    c.daemons.push(d)
    return d
  }

  const host: Host = {
    name: c.name,
    address: c.address,
    netns: c.ns,

    async spawnRelay (args = [], env = {}) {
      refuse(args, ['--host'], 'the relay binds to the host\'s address')
      const n = ++made
      const dataDir = valueOf(args, '--data-dir') ?? await folder(`relay-${n}/data`)
      const libraryDir = valueOf(args, '--library') ?? await folder(`relay-${n}/library`)
      const webRoot = valueOf(args, '--web-root') ?? await folder(`relay-${n}/web`)
      const full = [
        '--host', c.address,
        ...defaults(args, { '--http-port': '0', '--tcp-port': '0', '--ws-port': '0', '--data-dir': dataDir, '--library': libraryDir, '--web-root': webRoot }),
        ...args
      ]
      const d = start('relay/main.ts', full, env)
      try {
        const url = (await d.daemon.line(/^✅ (?:open|ouvrez) (http:\/\/\S+?)\/ /))[1]!
        const info = await getJson<{ peerId: string, multiaddrs: string[] }>(`${url}/info`)
        const tcp = info.multiaddrs.find(a => a.includes('/tcp/') && !a.includes('/ws'))
        const ws = info.multiaddrs.find(a => a.includes('/ws'))
        if (tcp == null || ws == null) throw new Error(`the relay's /info names no TCP and WebSocket addresses: ${info.multiaddrs.join(' ')}`)
        c.relayOrigins.push(new URL(url).origin)
        return {
          ...d,
          url,
          peerId: info.peerId,
          multiaddrs: info.multiaddrs,
          tcp,
          ws,
          tcpPort: Number(/\/tcp\/(\d+)/.exec(tcp)![1]),
          dataDir,
          libraryDir,
          async metric (name) {
            const text = await (await fetch(`${url}/metrics`)).text()
            const line = text.split('\n').find(l => l.startsWith(`${name} `))
            if (line == null) throw new Error(`metric ${name} not found`)
            return Number(line.split(' ')[1])
          }
        }
      } catch (err) {
        await d.stop()
        throw new Error(`relay on ${c.name} (${c.address}) did not start: ${(err as Error).message}`)
      }
    },

    async spawnBridge (args = [], env = {}) {
      refuse(args, ['--host', '--api-host'], 'the bridge binds to the host\'s address')
      const n = ++made
      const dataDir = valueOf(args, '--data-dir') ?? await folder(`bridge-${n}/data`)
      const cacheDir = valueOf(args, '--cache') ?? await folder(`bridge-${n}/cache`)
      const full = [
        '--host', c.address,
        '--api-host', c.address,
        ...defaults(args, { '--api-port': '0', '--p2p-port': '0', '--ws-port': '0', '--ipc-port': '0', '--ipc-ws-port': '0', '--data-dir': dataDir, '--cache': cacheDir }),
        ...args
      ]
      const d = start('node-bridge/main.ts', full, env)
      try {
        const url = (await d.daemon.line(/(?:Local API at|API locale démarrée sur) (http:\/\/\S+)/))[1]!
        const stats = await getJson<{ peer_id: string, listen_addrs: string[] }>(`${url}/stats`)
        return {
          ...d,
          url,
          peerId: stats.peer_id,
          listenAddrs: stats.listen_addrs,
          dataDir,
          cacheDir,
          api: async (path, init) => await fetch(`${url}${path}`, init)
        }
      } catch (err) {
        await d.stop()
        throw new Error(`bridge on ${c.name} (${c.address}) did not start: ${(err as Error).message}`)
      }
    },

    async launchChromium (options = {}) {
      const browser = await launchChromium({ ...options, netns, secureOrigins: [...c.relayOrigins, ...(options.secureOrigins ?? [])] })
      c.browsers.push(browser)
      return browser
    },

    async exec (file, args) {
      const [command, ...argv] = netns == null ? [file, ...args] : [netns.ip, 'netns', 'exec', netns.name, file, ...args]
      try {
        return (await run(command!, argv)).stdout
      } catch (err) {
        const stderr = String((err as { stderr?: string }).stderr ?? '').trim()
        throw new Error(`${file} ${args.join(' ')} on ${c.name}: ${stderr !== '' ? stderr : (err as Error).message}`)
      }
    },

    async tcpConnections () {
      return parseSs(await host.exec('ss', ['-H', '-t', '-n', '-p', 'state', 'established']))
    }
  }
  return host
}

/** Lines of `ss -Htnp state established`: `Recv-Q Send-Q Local:Port Peer:Port users:(("node",pid=1,fd=2),…)`. */
export function parseSs (text: string): TcpConnection[] {
  const out: TcpConnection[] = []
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 4) continue
    const local = endpoint(fields[2]!)
    const peer = endpoint(fields[3]!)
    if (local == null || peer == null) continue
    const pids = [...fields.slice(4).join(' ').matchAll(/pid=(\d+)/g)].map(m => Number(m[1]))
    out.push({ local, peer, pids })
  }
  return out
}

function endpoint (text: string): { address: string, port: number } | undefined {
  const m = /^\[?(.+?)\]?:(\d+)$/.exec(text)
  if (m == null) return undefined
  // an IPv4 peer of a dual-stack socket
  return { address: m[1]!.replace(/^::ffff:/, '').replace(/%.*$/, ''), port: Number(m[2]) }
}

/** `flag value` or `flag=value` in `args`. */
function valueOf (args: string[], flag: string): string | undefined {
  for (const [i, a] of args.entries()) {
    if (a === flag) return args[i + 1]
    if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1)
  }
  return undefined
}

/** `flag value` pairs for the flags `args` does not set. */
function defaults (args: string[], values: Record<string, string>): string[] {
  return Object.entries(values).filter(([flag]) => valueOf(args, flag) == null).flat()
}

function refuse (args: string[], flags: string[], why: string): void {
  const given = flags.find(f => valueOf(args, f) != null || args.includes(f))
  if (given != null) throw new Error(`${given} is the helper's to set: ${why}`)
}

/** This machine can bind `address` (all of 127/8 is loopback on Linux; not on every system). */
async function checkBindable (address: string): Promise<void> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', err => { reject(new Error(`cannot bind the loopback address ${address} for a test host: ${err.message}`)) })
    server.listen(0, address, () => { resolve() })
  })
  await new Promise<void>(resolve => server.close(() => { resolve() }))
}

async function getJson<T> (url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`)
  return await response.json() as T
}
