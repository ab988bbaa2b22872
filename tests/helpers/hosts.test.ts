import { execFile } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createHosts, type Hosts } from './hosts'
import { findIp } from './netns'
import { parseSs } from './sockets'

const run = promisify(execFile)
const SETPRIV = '/usr/bin/setpriv'

/**
 * The hosts helper itself: which mode it picks and why, what it refuses,
 * and that close() leaves nothing behind. The scenario on its hosts is
 * tests/e2e/hosts.test.ts.
 */

/** tests/fixtures/hosts-mode.ts in a child process, `setpriv` dropping CAP_NET_ADMIN first: a root without it, as in some containers. */
async function withoutNetAdmin (env: NodeJS.ProcessEnv): Promise<any> {
  const { stdout } = await run(SETPRIV, ['--bounding-set', '-net_admin', '--inh-caps', '-net_admin', process.execPath, '--import', 'tsx', 'tests/fixtures/hosts-mode.ts'], {
    env: { ...process.env, ...env },
    timeout: 60_000
  })
  return JSON.parse(stdout.trim().split('\n').at(-1)!)
}

function hasSetpriv (): boolean {
  try {
    accessSync(SETPRIV, constants.X_OK)
    return process.getuid?.() === 0
  } catch {
    return false
  }
}

describe('the mode', () => {
  it.runIf(hasSetpriv())('without CAP_NET_ADMIN (root in a container): the loopback fallback, saying why; PIPBINGO_TEST_HOSTS=netns fails instead', async () => {
    const auto = await withoutNetAdmin({ PIPBINGO_TEST_HOSTS: '' })
    expect(auto).toEqual({
      mode: 'loopback',
      reason: expect.stringMatching(/^network namespaces cannot be made here: ip link add pbt\d{3}-br type bridge: .*Operation not permitted/),
      addresses: ['127.0.0.2', '127.0.0.3']
    })
    const netns = await withoutNetAdmin({ PIPBINGO_TEST_HOSTS: 'netns' })
    expect(netns.error).toMatch(/^network namespaces cannot be made here: .*Operation not permitted \(and PIPBINGO_TEST_HOSTS=netns asked for them\)$/)
  }, 90_000)

  it('PIPBINGO_TEST_HOSTS=loopback forces the fallback, with that as its reason; another value is refused', async () => {
    vi.stubEnv('PIPBINGO_TEST_HOSTS', 'loopback')
    try {
      const hosts = await createHosts()
      await hosts.close()
      expect([hosts.mode, hosts.reason]).toEqual(['loopback', 'PIPBINGO_TEST_HOSTS=loopback'])
      vi.stubEnv('PIPBINGO_TEST_HOSTS', 'namespaces')
      await expect(createHosts()).rejects.toThrow('PIPBINGO_TEST_HOSTS=namespaces: expected one of auto, netns, loopback')
    } finally {
      vi.unstubAllEnvs()
    }
  })
})

describe('a host', () => {
  let hosts: Hosts | undefined
  afterEach(async () => { await hosts?.close() })

  it('refuses a bad name, a name taken, and flags that are the helper\'s to set', async () => {
    hosts = await createHosts({ mode: 'loopback' })
    const a = await hosts.add('a')
    await expect(hosts.add('a')).rejects.toThrow('a host "a" exists already')
    await expect(hosts.add('../x')).rejects.toThrow('host name "../x": letters, digits and - only')
    await expect(a.spawnRelay(['--host', '0.0.0.0'])).rejects.toThrow('--host is set by the hosts helper')
    await expect(a.spawnRelay(['--http-port=8080'])).rejects.toThrow('--http-port is set by the hosts helper')
    await expect(a.spawnBridge(['--api-host', '0.0.0.0'])).rejects.toThrow('--api-host is set by the hosts helper')
    const prepared = await a.prepareRelay()
    await expect(prepared.spawn(['--data-dir', '/elsewhere'])).rejects.toThrow(`--data-dir /elsewhere: the prepared relay's is ${prepared.dataDir}`)
  })

  it('prepared relays get distinct ports and their own peer ids before they start', async () => {
    hosts = await createHosts()
    const [a, b] = [await hosts.add('a'), await hosts.add('b')]
    const relays = [await a.prepareRelay(), await a.prepareRelay(), await b.prepareRelay()]
    const onA = relays.slice(0, 2).flatMap(r => [r.httpPort, r.tcpPort, r.wsPort])
    expect(new Set(onA).size).toBe(6)
    expect(new Set(relays.map(r => r.peerId)).size).toBe(3)
    expect(relays[2]!.tcp).toBe(`/ip4/${b.address}/tcp/${relays[2]!.tcpPort}/p2p/${relays[2]!.peerId}`)
    // the same data folder, the same identity
    expect((await a.prepareRelay({ dataDir: relays[0]!.dataDir })).peerId).toBe(relays[0]!.peerId)
  })

  it('close() stops its daemons and, in namespaces, removes them, their links and the bridge', async () => {
    hosts = await createHosts()
    const host = await hosts.add('a')
    await hosts.add('b')
    const relay = await host.spawnRelay()
    expect(await (await fetch(`${relay.url}/health`)).text()).toBe('OK')
    const prefix = hosts.network?.bridge.replace(/br$/, '')
    await hosts.close()
    expect(relay.daemon.exitCode() ?? relay.daemon.child.signalCode).not.toBeNull()
    expect(() => process.kill(relay.pid, 0)).toThrow()
    if (prefix != null) {
      const ip = findIp()
      const { stdout: links } = await run(ip, ['-br', 'link', 'show'])
      const { stdout: namespaces } = await run(ip, ['netns', 'list'])
      expect(links.split('\n').filter(l => l.startsWith(prefix))).toEqual([])
      expect(namespaces.split('\n').filter(l => l.startsWith(prefix))).toEqual([])
    }
    // and it can be called again
    await hosts.close()
  }, 90_000)
})

/** From inside `host`: how a TCP connection to port 9 of each address ends (ECONNREFUSED: it reached a network stack). */
const PROBE = `
const net = require('node:net')
Promise.all(process.argv.slice(1).map(host => new Promise(resolve => {
  const s = net.connect({ host, port: 9, timeout: 5000 })
  s.on('connect', () => { s.destroy(); resolve('connected') })
  s.on('timeout', () => { s.destroy(); resolve('timeout') })
  s.on('error', err => resolve(err.code))
}))).then(r => console.log(JSON.stringify(r)))`

describe('the network', () => {
  let hosts: Hosts | undefined
  afterEach(async () => { await hosts?.close() })

  it('in namespaces a host reaches the other hosts and the test process, not this machine\'s other addresses', async ({ skip }) => {
    hosts = await createHosts()
    if (hosts.mode !== 'netns') skip(`no namespaces here: ${hosts.reason}`)
    const [a, b] = [await hosts.add('a'), await hosts.add('b')]
    const own = Object.values(networkInterfaces()).flat().filter(i => i != null && i.family === 'IPv4' && !i.internal && !i.address.startsWith('10.231.')).map(i => i!.address)
    const outcomes = JSON.parse(await a.exec(process.execPath, ['-e', PROBE, b.address, hosts.network!.hostAddress, ...own]))
    expect(outcomes.slice(0, 2)).toEqual(['ECONNREFUSED', 'ECONNREFUSED'])
    for (const outcome of outcomes.slice(2)) expect(['EHOSTUNREACH', 'ENETUNREACH', 'timeout']).toContain(outcome)
  }, 60_000)
})

describe('parseSs', () => {
  it.each([
    ['0 0 10.231.7.2:20001 10.231.7.3:41234 users:(("node",pid=1234,fd=25))', [{ local: { address: '10.231.7.2', port: 20001 }, peer: { address: '10.231.7.3', port: 41234 }, pids: [1234] }]],
    ['0      0        [::ffff:127.0.0.2]:20001     [::ffff:127.0.0.1]:5555   users:(("node",pid=1,fd=2),("node",pid=3,fd=4))', [{ local: { address: '127.0.0.2', port: 20001 }, peer: { address: '127.0.0.1', port: 5555 }, pids: [1, 3] }]],
    ['0 0 [fe80::1%eth0]:22 [::1]:40000', [{ local: { address: 'fe80::1', port: 22 }, peer: { address: '::1', port: 40000 }, pids: [] }]],
    ['\n  \nnot a socket line\n', []]
  ])('%s', (text, expected) => {
    expect(parseSs(text)).toEqual(expected)
  })
})
