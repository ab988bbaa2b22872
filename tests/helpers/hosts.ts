import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Browser } from 'playwright-core'
import { launchChromium, type LaunchOptions } from './chromium'
import { flagValue, prepareRelay, spawnBridge, type DaemonSite, type HostBridge, type HostDaemon, type HostRelay, type PreparedRelay } from './host-daemons'
import { createTestNetwork, type Namespace, type TestNetwork } from './netns'
import { parseSs, SS_ESTABLISHED, type TcpConnection } from './sockets'

export type { HostBridge, HostDaemon, HostRelay, PreparedRelay } from './host-daemons'
export type { TcpConnection } from './sockets'

const run = promisify(execFile)

/** `PIPBINGO_TEST_HOSTS`: `netns` (namespaces, or fail), `loopback` (the fallback), `auto` or unset (namespaces when they can be made). */
export const HOSTS_MODE_ENV = 'PIPBINGO_TEST_HOSTS'
const MODES = ['auto', 'netns', 'loopback'] as const
export type HostsMode = typeof MODES[number]

/**
 * Ports the helper gives relays: below Linux's ephemeral range (32768-60999),
 * so no port-0 listener or outgoing connection takes one between the choice
 * and the relay's bind. In a namespace they are taken in order (nothing else
 * listens there); on loopback at random, each checked free.
 */
const FIRST_PORT = 20_000
const LAST_PORT = 32_000

/**
 * A test network of separate hosts. In `netns` mode each host is a network
 * namespace of its own on a private subnet (tests/helpers/netns.ts: hosts
 * reach each other and the test process, and nothing else), so traffic
 * between hosts crosses real interfaces. In `loopback` mode, where
 * namespaces cannot be made, each host is a loopback address of its own
 * (127.0.0.2, 127.0.0.3, …): the same daemons and flags, but one network
 * stack, connections come from 127.0.0.1, and Chromium gathers no
 * loopback ICE candidates, so tabs do no WebRTC.
 */
export interface Hosts {
  mode: 'netns' | 'loopback'
  /** In `loopback` mode: why (namespaces could not be made, and the error; or the fallback was asked for). */
  reason?: string
  /** In `netns` mode: the subnet, whose bridge holds the test process's address on it (`network.hostAddress`). */
  network?: TestNetwork
  hosts: Host[]
  /** A new host, with its own address. `name` (letters, digits, `-`) labels it and its folders. */
  add(name: string): Promise<Host>
  /** A temporary folder, removed by close(); the hosts' folders are in it. */
  dir: string
  /** Closes the browsers, stops the daemons (SIGTERM, then SIGKILL), removes the namespaces and the folders. Safe to call twice. */
  close(): Promise<void>
}

export interface Host {
  name: string
  /** Its address: its namespace's on the test subnet, or its own loopback address. */
  address: string
  /** In `netns` mode: the namespace its processes run in. */
  netns?: Namespace
  /**
   * A relay's address, ports and identity, known before it starts, so
   * relays can name each other (`--peer-relay`): `(await
   * host.prepareRelay()).spawn(args)` (host-daemons.ts). Its identity key is
   * made in `dataDir` (default: a fresh folder).
   */
  prepareRelay(options?: { dataDir?: string }): Promise<PreparedRelay>
  /** `prepareRelay()`, then `spawn(args, env)`; a `--data-dir` in `args` is the prepared relay's. */
  spawnRelay(args?: string[], env?: NodeJS.ProcessEnv): Promise<HostRelay>
  /** `node-bridge/main.ts` in this host, its API on the host's address (host-daemons.ts `spawnBridge`); give it `--relay-http <relay.url>`. */
  spawnBridge(args?: string[], env?: NodeJS.ProcessEnv): Promise<HostBridge>
  /** Chromium in this host, treating every relay of these hosts that is up (and `secureOrigins`) as a secure context. */
  launchChromium(options?: Omit<LaunchOptions, 'netns'>): Promise<Browser>
  /** Run a program in the host (`ip netns exec`; in `loopback` mode, here) and resolve with its stdout. */
  exec(file: string, args: string[]): Promise<string>
  /** The established TCP connections the host's network stack holds (`ss`; in `loopback` mode, all of this machine's). */
  tcpConnections(): Promise<TcpConnection[]>
}

/**
 * A test network (see `Hosts`). `mode` defaults to $PIPBINGO_TEST_HOSTS,
 * else `auto`: namespaces when this process may make them (root, `ip`,
 * CAP_NET_ADMIN: a bridge and a first namespace are made to find out),
 * else the loopback fallback, whose `reason` says what failed. `netns`
 * fails instead of falling back.
 *
 * Three relays that name each other, a tab on B and a bridge on C:
 *
 *     hosts = await createHosts()                      // afterAll: hosts.close()
 *     const relays = []
 *     for (const name of ['a', 'b', 'c']) relays.push(await (await hosts.add(name)).prepareRelay())
 *     const [, b, c] = await Promise.all(relays.map(r => r.spawn([
 *       '--library', …, '--web-root', webRoot,            // web.ts buildWebApp(webRoot)
 *       ...relays.filter(o => o !== r).flatMap(o => ['--peer-relay', o.tcp])
 *     ])))
 *     const tab = await openApp(await (await hosts.add('tab')).launchChromium(), `${b.url}/?play=…`)
 *     const bridge = await (await hosts.add('bridge')).spawnBridge(['--relay-http', c.url])
 *
 * (Started together, each relay dials others that may not listen yet.)
 * `hosts.mode === 'loopback'`: no WebRTC between tabs.
 */
export async function createHosts (options: { mode?: HostsMode } = {}): Promise<Hosts> {
  const mode = options.mode ?? modeFromEnv()
  const dir = await mkdtemp(join(tmpdir(), 'pipbingo-hosts-'))
  if (mode === 'loopback') {
    return hostsOn(dir, undefined, undefined, options.mode == null ? `${HOSTS_MODE_ENV}=loopback` : 'the test asked for the loopback fallback')
  }
  let network: TestNetwork | undefined
  try {
    network = await createTestNetwork()
    const first = await network.addNamespace()
    return hostsOn(dir, network, first)
  } catch (err) {
    await network?.close()
    const reason = `network namespaces cannot be made here: ${(err as Error).message}`
    if (mode === 'netns') {
      await rm(dir, { recursive: true, force: true })
      throw new Error(`${reason} (and ${options.mode == null ? `${HOSTS_MODE_ENV}=netns` : 'the test'} asked for them)`)
    }
    return hostsOn(dir, undefined, undefined, reason)
  }
}

function modeFromEnv (): HostsMode {
  const value = process.env[HOSTS_MODE_ENV]
  if (value == null || value === '') return 'auto'
  if ((MODES as readonly string[]).includes(value)) return value as HostsMode
  throw new Error(`${HOSTS_MODE_ENV}=${value}: expected one of ${MODES.join(', ')}`)
}

/** The hosts on `network` (its first namespace made already, for the first host), or on loopback addresses without one. */
function hostsOn (dir: string, network: TestNetwork | undefined, first: Namespace | undefined, reason?: string): Hosts {
  const hosts: Host[] = []
  const daemons: HostDaemon[] = []
  const browsers: Browser[] = []
  const relayOrigins: string[] = []
  let spare = first
  let closed = false
  // a test process that exits without close() leaves no daemon behind (a namespace lives on while one runs in it)
  const killAll = (): void => { for (const d of daemons) d.daemon.child.kill('SIGKILL') }
  process.on('exit', killAll)

  return {
    mode: network != null ? 'netns' : 'loopback',
    reason,
    network,
    hosts,
    dir,
    async add (name) {
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
        await holdPorts(address, [0]).then(close)
      }
      const home = join(dir, name)
      await mkdir(home)
      const host = makeHost({
        name,
        address,
        ns,
        netns: ns == null || network == null ? undefined : { ip: network.ip, name: ns.name },
        home,
        started: d => { daemons.push(d) },
        browsers,
        relayOrigins
      })
      hosts.push(host)
      return host
    },
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
  netns: { ip: string, name: string } | undefined
  /** The host's own folder. */
  home: string
  started(daemon: HostDaemon): void
  browsers: Browser[]
  relayOrigins: string[]
}

function makeHost (c: HostContext): Host {
  let made = 0
  let nextPort = FIRST_PORT
  const site: DaemonSite = {
    name: c.name,
    address: c.address,
    netns: c.netns,
    async folder (label) {
      const path = join(c.home, label)
      await mkdir(path, { recursive: true })
      return path
    },
    next: () => ++made,
    async ports (count) {
      if (c.netns != null) {
        if (nextPort + count > LAST_PORT) throw new Error(`host ${c.name} has given out all its ports`)
        nextPort += count
        return Array.from({ length: count }, (_, i) => nextPort - count + i)
      }
      return await freePorts(c.address, count)
    },
    started: c.started,
    relayUp: origin => { if (!c.relayOrigins.includes(origin)) c.relayOrigins.push(origin) }
  }

  const host: Host = {
    name: c.name,
    address: c.address,
    netns: c.ns,
    prepareRelay: async (options) => await prepareRelay(site, options),
    spawnRelay: async (args = [], env = {}) => await (await prepareRelay(site, { dataDir: flagValue(args, '--data-dir') })).spawn(args, env),
    spawnBridge: async (args, env) => await spawnBridge(site, args, env),
    async launchChromium (options = {}) {
      const browser = await launchChromium({ ...options, netns: c.netns, secureOrigins: [...c.relayOrigins, ...(options.secureOrigins ?? [])] })
      c.browsers.push(browser)
      return browser
    },
    async exec (file, args) {
      const [command, ...argv] = c.netns == null ? [file, ...args] : [c.netns.ip, 'netns', 'exec', c.netns.name, file, ...args]
      try {
        return (await run(command!, argv)).stdout
      } catch (err) {
        const stderr = String((err as { stderr?: string }).stderr ?? '').trim()
        throw new Error(`${file} ${args.join(' ')} on host ${c.name}: ${stderr !== '' ? stderr : (err as Error).message}`)
      }
    },
    tcpConnections: async () => parseSs(await host.exec('ss', SS_ESTABLISHED))
  }
  return host
}

/** `count` ports of FIRST_PORT..LAST_PORT that nothing on this machine holds on `address`, held together while chosen so they differ. */
async function freePorts (address: string, count: number): Promise<number[]> {
  const held: Server[] = []
  try {
    for (let tries = 0; held.length < count; tries++) {
      if (tries > 200) throw new Error(`no free port between ${FIRST_PORT} and ${LAST_PORT} on ${address} after 200 tries`)
      const port = FIRST_PORT + Math.floor(Math.random() * (LAST_PORT - FIRST_PORT))
      const [server] = await holdPorts(address, [port]).catch(() => [])
      if (server != null) held.push(server)
    }
    return held.map(s => (s.address() as { port: number }).port)
  } finally {
    await close(held)
  }
}

/** Listening sockets on `address` at `ports` (0: any); rejects with a clear error when one cannot be bound. */
async function holdPorts (address: string, ports: number[]): Promise<Server[]> {
  const held: Server[] = []
  try {
    for (const port of ports) {
      const server = createServer()
      await new Promise<void>((resolve, reject) => {
        server.once('error', err => { reject(new Error(`cannot bind ${address}:${port} for a test host: ${err.message}`)) })
        server.listen(port, address, () => { resolve() })
      })
      held.push(server)
    }
    return held
  } catch (err) {
    await close(held)
    throw err
  }
}

async function close (servers: Server[]): Promise<void> {
  await Promise.all(servers.map(async s => { await new Promise<void>(resolve => s.close(() => { resolve() })) }))
}
