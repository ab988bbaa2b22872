import { createHash } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nextEvent, postDownload } from '../helpers/bridge'
import { createHosts, type HostBridge, type Hosts, type HostRelay, type HostsMode, type TcpConnection } from '../helpers/hosts'
import { buildWebApp, openApp, statsOf, waitPlaying } from '../helpers/web'

const SAMPLE = 'sample.mp4'

/**
 * A relay, a bridge and a browser as three hosts (tests/helpers/hosts.ts),
 * each its own process with its own address: in network namespaces where
 * they can be made, else (and always, a second time) on distinct loopback
 * addresses. Real relay and bridge daemons, real Chromium, nothing mocked.
 */
let webRoot: string
let sample: { bytes: Buffer, sha: string }
let tmp: string
/** The mode the first scenario ran in: when that was the fallback, the second has nothing to add. */
let firstMode: Hosts['mode'] | undefined

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'pipbingo-hosts-test-'))
  webRoot = join(tmp, 'web')
  await buildWebApp(webRoot)
  const bytes = await readFile(join('library', SAMPLE))
  sample = { bytes, sha: sha256(bytes) }
}, 120_000)

afterAll(async () => { await rm(tmp, { recursive: true, force: true }) })

function sha256 (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** The scenario, on hosts made with `mode` (undefined: $PIPBINGO_TEST_HOSTS, else namespaces when they can be made). */
function scenario (title: string, mode: HostsMode | undefined): void {
  describe(title, () => {
    let hosts: Hosts
    let relay: HostRelay
    let bridge: HostBridge
    let skip = false

    beforeAll(async () => {
      if (mode === 'loopback' && firstMode === 'loopback') { skip = true; return }
      hosts = await createHosts({ mode })
      firstMode ??= hosts.mode
      console.log(`hosts: ${hosts.mode}${hosts.reason != null ? ` (${hosts.reason})` : ''}`)
      const [relayHost, bridgeHost] = [await hosts.add('relay'), await hosts.add('bridge')]
      const library = join(hosts.dir, 'library')
      await mkdir(library)
      await copyFile(join('library', SAMPLE), join(library, SAMPLE))
      relay = await relayHost.spawnRelay(['--library', library, '--web-root', webRoot])
      bridge = await bridgeHost.spawnBridge(['--relay-http', relay.url])
    }, 150_000)

    afterAll(async () => { await hosts?.close() })

    it('each host has its own address, the relay and the bridge listen there', ({ skip: skipTest }) => {
      if (skip) skipTest('the first scenario already ran on the loopback fallback')
      const [relayHost, bridgeHost] = hosts.hosts
      expect(relayHost!.address).not.toBe(bridgeHost!.address)
      if (hosts.mode === 'netns') expect(relayHost!.address).toMatch(/^10\.231\.\d+\.\d+$/)
      else expect(relayHost!.address).toMatch(/^127\.0\.0\.\d+$/)
      expect(new URL(relay.url).hostname).toBe(relayHost!.address)
      // what the helper chose before the start is what the relay says it listens on
      expect(relay.multiaddrs).toEqual(expect.arrayContaining([relay.tcp, relay.ws]))
      expect(relay.tcp).toBe(`/ip4/${relayHost!.address}/tcp/${relay.tcpPort}/p2p/${relay.peerId}`)
      expect(new URL(bridge.url).hostname).toBe(bridgeHost!.address)
      expect(bridge.listenAddrs.length).toBeGreaterThan(0)
      expect(bridge.listenAddrs.every(a => a.startsWith(`/ip4/${bridgeHost!.address}/`))).toBe(true)
    })

    it('the bridge downloads the relay\'s video through its REST API, byte-identical, over a connection between the two hosts', async ({ skip: skipTest }) => {
      if (skip) skipTest('the first scenario already ran on the loopback fallback')
      const [relayHost, bridgeHost] = hosts.hosts
      let opened!: () => void
      const open = new Promise<void>(resolve => { opened = resolve })
      const seeding = nextEvent(bridge.url, (event, d: any) => {
        if (event === 'snapshot') opened()
        return event === 'state' && d.status.filename === SAMPLE && d.to === 'seeding'
      }, { signal: AbortSignal.timeout(60_000) })
      await open
      expect((await postDownload(bridge.url, SAMPLE)).body.status).toBe('started')
      await seeding
      const streamed = new Uint8Array(await (await bridge.api(`/stream/${SAMPLE}`)).arrayBuffer())
      expect(streamed.byteLength).toBe(sample.bytes.byteLength)
      expect(sha256(streamed)).toBe(sample.sha)
      const stats = await (await bridge.api('/stats')).json()
      expect(stats.relay).toBe(relay.tcp)
      expect(stats.bytes_from_origin).toBe(sample.bytes.byteLength)

      // the bridge's socket to the relay's TCP port, and the relay's end of the same connection
      const toRelay = (await bridgeHost!.tcpConnections()).filter(s => s.pids.includes(bridge.pid) && s.peer.address === relayHost!.address && s.peer.port === relay.tcpPort)
      expect(toRelay).toHaveLength(1)
      const bridgeEnd = toRelay[0]!.local
      const relayEnd = (await relayHost!.tcpConnections()).filter((s: TcpConnection) => s.pids.includes(relay.pid) && s.local.port === relay.tcpPort &&
        s.peer.address === bridgeEnd.address && s.peer.port === bridgeEnd.port)
      expect(relayEnd).toHaveLength(1)
      expect(relayEnd[0]!.local.address).toBe(relayHost!.address)
      // between namespaces the only way out is the host's own address; on loopback the kernel gives 127.0.0.1 as the source
      expect(bridgeEnd.address).toBe(hosts.mode === 'netns' ? bridgeHost!.address : '127.0.0.1')
    }, 90_000)

    it('a tab on a third host plays the sample from the relay', async ({ skip: skipTest }) => {
      if (skip) skipTest('the first scenario already ran on the loopback fallback')
      const relayHost = hosts.hosts[0]!
      const tabHost = await hosts.add('tab')
      const browser = await tabHost.launchChromium()
      const page = await openApp(browser, `${relay.url}/?play=${SAMPLE}`)
      await waitPlaying(page)
      const stats = await statsOf(page)
      expect(stats.relay.connected).toBe(true)
      if (hosts.mode === 'netns') {
        // the tab's WebSocket to the relay, seen from the relay's host: it comes from the tab's
        const wsPort = Number(/\/tcp\/(\d+)\/ws/.exec(relay.ws)![1])
        const fromTab = (await relayHost.tcpConnections()).filter(s => s.pids.includes(relay.pid) && s.local.port === wsPort)
        expect(fromTab.map(s => s.peer.address)).toContain(tabHost.address)
      }
    }, 90_000)
  })
}

scenario('a relay, a bridge and a browser on three hosts', undefined)
scenario('the same on the loopback fallback (distinct loopback addresses, free ports)', 'loopback')
