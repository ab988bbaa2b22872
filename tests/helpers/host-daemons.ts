import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreateIdentity } from '../../node-bridge/identity'
import { spawnDaemon, type Daemon } from './daemon'

/** A daemon that has not exited this long after SIGTERM gets SIGKILL. */
const KILL_AFTER_MS = 15_000

/** What the relays and bridges of one host (tests/helpers/hosts.ts) need of it. */
export interface DaemonSite {
  /** The host's name, in errors. */
  name: string
  address: string
  /** `ip netns exec` into the host's namespace; none on loopback. */
  netns?: { ip: string, name: string }
  /** A fresh folder `label` (`relay-1/data`) in the host's own. */
  folder(label: string): Promise<string>
  /** A number for the next daemon of this host, for its folders. */
  next(): number
  /** `count` ports free on the host's address, for a relay's listeners. */
  ports(count: number): Promise<number[]>
  /** Every daemon started, for the hosts' close(). */
  started(daemon: HostDaemon): void
  /** A relay's origin, once it answers (browsers of these hosts treat it as a secure context). */
  relayUp(origin: string): void
}

export interface HostDaemon {
  daemon: Daemon
  /** The daemon's pid (`ip netns exec` execs, so it is the spawned process's). */
  pid: number
  /** SIGTERM (SIGKILL after 15 s); resolves once it has exited. */
  stop(): Promise<void>
}

/** Where a relay of a host will be (and, after a stop, will be again). */
export interface PreparedRelay {
  /** `http://<address>:<port>`. */
  url: string
  peerId: string
  /** The libp2p TCP address, `/ip4/<address>/tcp/<port>/p2p/<peerId>`: for `--peer-relay` and bridges' `--relay`. */
  tcp: string
  /** The libp2p WebSocket address (what tabs dial). */
  ws: string
  httpPort: number
  tcpPort: number
  wsPort: number
  /** Its identity key and published videos. */
  dataDir: string
  /**
   * `relay/main.ts` in the host, bound to its address. The helper gives
   * `--host`, the ports and `--data-dir` (so `args` may not set them
   * otherwise), and, unless `args` has them, `--library` and `--web-root`
   * as fresh empty folders (pass a library, and a web root from web.ts's
   * `buildWebApp` for pages to load the app). Resolves once it printed its
   * URL and its `/info` names the prepared peer id. Again after a stop:
   * the same relay, restarted.
   */
  spawn(args?: string[], env?: NodeJS.ProcessEnv): Promise<HostRelay>
}

export interface HostRelay extends HostDaemon, Omit<PreparedRelay, 'spawn'> {
  /** As `/info` gives them, each ending in `/p2p/<peerId>`. */
  multiaddrs: string[]
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

/** A relay's address, ports and identity, chosen now: the relay starts on `spawn`. */
export async function prepareRelay (site: DaemonSite, options: { dataDir?: string } = {}): Promise<PreparedRelay> {
  const n = site.next()
  const dataDir = options.dataDir ?? await site.folder(`relay-${n}/data`)
  await mkdir(dataDir, { recursive: true })
  const peerId = peerIdFromPrivateKey(await loadOrCreateIdentity(dataDir)).toString()
  const [httpPort, tcpPort, wsPort] = await site.ports(3) as [number, number, number]
  const url = `http://${site.address}:${httpPort}`
  const tcp = `/ip4/${site.address}/tcp/${tcpPort}/p2p/${peerId}`
  const ws = `/ip4/${site.address}/tcp/${wsPort}/ws/p2p/${peerId}`
  return {
    url, peerId, tcp, ws, httpPort, tcpPort, wsPort, dataDir,
    async spawn (args = [], env = {}) {
      refuse(args, ['--host', '--http-port', '--tcp-port', '--ws-port'], 'the prepared relay\'s')
      const given = flagValue(args, '--data-dir')
      if (given != null && given !== dataDir) throw new Error(`--data-dir ${given}: the prepared relay's is ${dataDir} (prepareRelay({ dataDir }) chooses it)`)
      const libraryDir = flagValue(args, '--library') ?? await site.folder(`relay-${n}/library`)
      const webRoot = flagValue(args, '--web-root') ?? await site.folder(`relay-${n}/web`)
      const d = start(site, 'relay/main.ts', [
        '--host', site.address, '--http-port', String(httpPort), '--tcp-port', String(tcpPort), '--ws-port', String(wsPort),
        ...defaults(args, { '--data-dir': dataDir, '--library': libraryDir, '--web-root': webRoot }),
        ...args
      ], env)
      try {
        await d.daemon.line(/^✅ (?:open|ouvrez) http:\/\//)
        const info = await getJson<{ peerId: string, multiaddrs: string[] }>(`${url}/info`)
        if (info.peerId !== peerId) throw new Error(`/info names peer ${info.peerId}, not the prepared ${peerId}`)
        site.relayUp(url)
        return {
          ...d, url, peerId, tcp, ws, httpPort, tcpPort, wsPort, dataDir, libraryDir,
          multiaddrs: info.multiaddrs,
          metric: async name => await metric(url, name)
        }
      } catch (err) {
        await d.stop()
        throw new Error(`the relay on ${site.name} (${site.address}) did not start: ${(err as Error).message}`)
      }
    }
  }
}

/**
 * `node-bridge/main.ts` in the host: `--host` and `--api-host` its address
 * (the test process reaches the REST API there), every port 0, and unless
 * `args` has them `--data-dir` and `--cache` fresh folders. Give it
 * `--relay-http <relay.url>`. The IPC stays on the host's own 127.0.0.1 (in
 * a namespace, out of the test process's reach). Resolves once it printed
 * its API URL and answered `/stats`.
 */
export async function spawnBridge (site: DaemonSite, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<HostBridge> {
  refuse(args, ['--host', '--api-host'], 'the host\'s address')
  const n = site.next()
  const dataDir = flagValue(args, '--data-dir') ?? await site.folder(`bridge-${n}/data`)
  const cacheDir = flagValue(args, '--cache') ?? await site.folder(`bridge-${n}/cache`)
  const d = start(site, 'node-bridge/main.ts', [
    '--host', site.address, '--api-host', site.address,
    ...defaults(args, { '--api-port': '0', '--p2p-port': '0', '--ws-port': '0', '--ipc-port': '0', '--ipc-ws-port': '0', '--data-dir': dataDir, '--cache': cacheDir }),
    ...args
  ], env)
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
    throw new Error(`the bridge on ${site.name} (${site.address}) did not start: ${(err as Error).message}`)
  }
}

function start (site: DaemonSite, main: string, args: string[], env: NodeJS.ProcessEnv): HostDaemon {
  // English lines unless the test says otherwise (the ready lines are read in both languages)
  const daemon = spawnDaemon(main, args, { PIPBINGO_LANG: 'en', ...env }, { netns: site.netns })
  const d: HostDaemon = {
    daemon,
    pid: daemon.child.pid ?? -1,
    stop: async () => { await daemon.stop({ killAfterMs: KILL_AFTER_MS }) }
  }
  site.started(d)
  return d
}

/** The value of `flag value` or `flag=value` in `args`. */
export function flagValue (args: string[], flag: string): string | undefined {
  for (const [i, a] of args.entries()) {
    if (a === flag) return args[i + 1]
    if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1)
  }
  return undefined
}

/** `flag value` pairs for the flags `args` does not set. */
function defaults (args: string[], values: Record<string, string>): string[] {
  return Object.entries(values).filter(([flag]) => flagValue(args, flag) == null).flat()
}

function refuse (args: string[], flags: string[], whose: string): void {
  const given = flags.find(f => flagValue(args, f) != null || args.includes(f))
  if (given != null) throw new Error(`${given} is set by the hosts helper: it is ${whose}`)
}

async function metric (url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const line = text.split('\n').find(l => l.startsWith(`${name} `))
  if (line == null) throw new Error(`metric ${name} not found`)
  return Number(line.split(' ')[1])
}

async function getJson<T> (url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`)
  return await response.json() as T
}
