import { execFile } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

const IP_PATHS = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip']
/** Every name this helper gives starts with it: `pbt007-br` (bridge), `pbt007-h1` / `pbt007-n1` (veth pair), `pbt007-ns1` (namespace). */
const PREFIX = 'pbt'
/** Slot s is the subnet 10.231.s.0/24; the bridge is .1, namespace i is .(1 + i). */
const SUBNET = '10.231'
const SLOTS = 254
const MAX_NAMESPACES = 253

/** A network namespace joined to the test bridge. */
export interface Namespace {
  /** For `ip netns exec <name>`. */
  name: string
  /** Its address on the test subnet (its only one besides 127.0.0.1). */
  address: string
}

/**
 * A private network on this machine for one test run: a Linux bridge in the
 * root namespace holding `hostAddress`, and namespaces joined to it by veth
 * pairs, all on one /24 of 10.231.0.0/16. Servers that listen on
 * `hostAddress` are reached from every namespace; the namespaces reach each
 * other across the bridge, and nothing else: their default route is the link
 * itself (no gateway), and the bridge answers ARP only for its own address,
 * so the machine's other addresses (192.0.2.2…) stay out of reach.
 *
 * The default route is there for Chromium: a page without camera or
 * microphone permission gets host ICE candidates only for the address its
 * default route would use (and none without one).
 */
export interface TestNetwork {
  /** `ip`'s path, for `ip netns exec`. */
  ip: string
  bridge: string
  hostAddress: string
  namespaces: Namespace[]
  addNamespace(): Promise<Namespace>
  /** Removes the veth pairs, the namespaces and the bridge. Safe to call twice. */
  close(): Promise<void>
}

let probe: Promise<string | undefined> | undefined

/**
 * Why network namespaces cannot be made here (not root, no `ip`, no
 * CAP_NET_ADMIN in a container), or undefined when they can: a network and
 * a namespace are made and removed once per process to find out. A test
 * that needs them (WebRTC between browsers: Chromium gathers no loopback
 * candidates) skips with this reason, `describeWithNamespaces`; the
 * scenarios across hosts run on loopback instead (tests/helpers/hosts.ts).
 */
export async function whyNoNamespaces (): Promise<string | undefined> {
  probe ??= (async () => {
    let network: TestNetwork | undefined
    try {
      network = await createTestNetwork()
      await network.addNamespace()
      return undefined
    } catch (err) {
      return (err as Error).message
    } finally {
      await network?.close()
    }
  })()
  return await probe
}

/** `ip`, or a clear error when it is missing. */
export function findIp (): string {
  for (const path of IP_PATHS) {
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {}
  }
  throw new Error(`Network namespaces for the browser tests need iproute2's \`ip\` (looked at ${IP_PATHS.join(', ')}): apt-get install -y iproute2.`)
}

/**
 * Builds the network. Root only. A slot (the subnet, and the names
 * `pbt<slot>-*`) is taken by creating its bridge, which fails when another
 * process holds it, so parallel vitest workers get different ones; the
 * bridge's alias names the owner's pid. Leftovers of runs whose process is
 * gone (a crash, a killed worker, a bench stopped by its watchdog) are
 * removed first.
 */
export async function createTestNetwork (): Promise<TestNetwork> {
  if (process.getuid?.() !== 0) {
    throw new Error('Network namespaces for the browser tests need root (ip netns add, ip link add): run as root, as .ci/run does.')
  }
  const ip = findIp()
  await removeStale(ip)
  const start = process.pid % SLOTS
  for (let k = 0; k < SLOTS; k++) {
    const slot = (start + k) % SLOTS + 1
    const bridge = `${namePrefix(slot)}br`
    try {
      await sh(ip, 'link', 'add', bridge, 'type', 'bridge')
    } catch (err) {
      if (/exists/i.test(String((err as Error).message))) continue
      throw err
    }
    const network = slotNetwork(ip, slot, bridge)
    try {
      await sh(ip, 'link', 'set', bridge, 'alias', `pid=${process.pid}`)
      await removeLeftovers(ip, slot, bridge)
      // by default Linux answers ARP for any of its addresses on any link
      await writeFile(`/proc/sys/net/ipv4/conf/${bridge}/arp_ignore`, '1')
      await sh(ip, 'addr', 'add', `${network.hostAddress}/24`, 'dev', bridge)
      await sh(ip, 'link', 'set', bridge, 'up')
      return network
    } catch (err) {
      await network.close()
      throw err
    }
  }
  throw new Error(`No free test subnet: all ${SLOTS} bridges ${PREFIX}<n>-br exist (ip -br link show type bridge)`)
}

function slotNetwork (ip: string, slot: number, bridge: string): TestNetwork {
  const prefix = namePrefix(slot)
  const namespaces: Namespace[] = []
  let closed = false
  return {
    ip,
    bridge,
    hostAddress: `${SUBNET}.${slot}.1`,
    namespaces,
    async addNamespace () {
      if (closed) throw new Error('the test network is closed')
      const i = namespaces.length + 1
      if (i > MAX_NAMESPACES) throw new Error(`at most ${MAX_NAMESPACES} namespaces per test network`)
      const ns: Namespace = { name: `${prefix}ns${i}`, address: `${SUBNET}.${slot}.${1 + i}` }
      // listed before it exists, so close() removes a half-made one too
      namespaces.push(ns)
      const [host, inner] = [`${prefix}h${i}`, `${prefix}n${i}`]
      await sh(ip, 'netns', 'add', ns.name)
      await noIpv6(ip, ns.name)
      await sh(ip, 'link', 'add', host, 'type', 'veth', 'peer', 'name', inner, 'netns', ns.name)
      await sh(ip, 'link', 'set', host, 'master', bridge, 'up')
      await sh(ip, '-n', ns.name, 'addr', 'add', `${ns.address}/24`, 'dev', inner)
      await sh(ip, '-n', ns.name, 'link', 'set', inner, 'up')
      await sh(ip, '-n', ns.name, 'link', 'set', 'lo', 'up')
      await sh(ip, '-n', ns.name, 'route', 'add', 'default', 'dev', inner)
      return ns
    },
    async close () {
      closed = true
      // a namespace outlives `ip netns del` until its last process has gone,
      // and its veth pair with it: the pair is deleted first, from this side
      for (const [i, ns] of namespaces.splice(0).entries()) {
        await quiet(ip, 'link', 'del', `${prefix}h${i + 1}`)
        await quiet(ip, 'netns', 'del', ns.name)
      }
      await quiet(ip, 'link', 'del', bridge)
    }
  }
}

/**
 * The test network is IPv4 only. With IPv6 on, the namespace's veth gets a
 * link-local address that stays tentative for the second or so of duplicate
 * address detection, and when it turns valid Chromium (already running in
 * the namespace under load) takes the netlink event for a network change and
 * fails its requests in flight with ERR_NETWORK_CHANGED: a page.goto failed
 * so in 2 of 4 loaded runs. Links made in the namespace after this have no
 * IPv6 at all.
 */
async function noIpv6 (ip: string, ns: string): Promise<void> {
  await sh(ip, 'netns', 'exec', ns, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6')
}

function namePrefix (slot: number): string {
  return `${PREFIX}${slot.toString().padStart(3, '0')}-`
}

/** Bridges of this helper whose owner is no longer running, with their namespaces. */
async function removeStale (ip: string): Promise<void> {
  for (const b of await listJson<{ ifname: string, ifalias?: string }>(ip, 'link', 'show', 'type', 'bridge')) {
    const match = new RegExp(`^${PREFIX}(\\d{3})-br$`).exec(b.ifname)
    const owner = /^pid=(\d+)$/.exec(b.ifalias ?? '')
    if (match == null || owner == null || alive(Number(owner[1]))) continue
    await removeLeftovers(ip, Number(match[1]))
  }
}

/** The links and namespaces named after `slot` (but `keep`). */
async function removeLeftovers (ip: string, slot: number, keep?: string): Promise<void> {
  const prefix = namePrefix(slot)
  const links = await listJson<{ ifname: string }>(ip, 'link', 'show')
  for (const { ifname } of links) {
    if (ifname.startsWith(prefix) && ifname !== keep) await quiet(ip, 'link', 'del', ifname)
  }
  for (const { name } of await listJson<{ name: string }>(ip, 'netns', 'list')) {
    if (name.startsWith(prefix)) await quiet(ip, 'netns', 'del', name)
  }
}

async function listJson<T> (ip: string, ...args: string[]): Promise<T[]> {
  const { stdout } = await run(ip, ['-j', ...args])
  return stdout.trim() === '' ? [] : JSON.parse(stdout) as T[]
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function sh (ip: string, ...args: string[]): Promise<void> {
  try {
    await run(ip, args)
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim()
    throw new Error(`ip ${args.join(' ')}: ${stderr !== '' ? stderr : (err as Error).message}`)
  }
}

async function quiet (ip: string, ...args: string[]): Promise<void> {
  await run(ip, args).catch(() => {})
}
