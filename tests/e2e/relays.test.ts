import { createHash } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nextEvent, postDownload } from '../helpers/bridge'
import { createHosts, type HostBridge, type Hosts, type HostRelay, type HostsMode, type PreparedRelay } from '../helpers/hosts'
import { buildWebApp, openApp, statsOf, waitPlaying } from '../helpers/web'

const SAMPLE = 'sample.mp4'

/**
 * Issue 11, "several relays, one network": three relays on three hosts
 * (network namespaces, tests/helpers/hosts.ts), each told of the others
 * with --peer-relay. Only relay A's library holds the sample. A tab
 * attached to relay B plays it, finding A through the DHT; a bridge
 * attached to relay C downloads it, most bytes from the tab; then A leaves
 * and a second bridge, on B, still gets the whole video, from peers.
 * Real relay and bridge daemons, real Chromium, nothing mocked.
 *
 * The same scenario runs again on the loopback fallback (distinct loopback
 * addresses and ports), as it would where namespaces cannot be made. There
 * Chromium gathers no ICE candidate of its own, so a WebRTC connection to
 * the tab is not promised (the bridge's own loopback candidates often make
 * one): the bridge on C may take the video from relay A instead, its
 * requests flagged isolated once A says the tab holds it (a bridge once
 * waited 90 s on that ELSEWHERE), and the bridge on B, once A has left,
 * gets it from the bridge on C (TCP) and the tab.
 */
let tmp: string
let webRoot: string
let sample: { bytes: Buffer, sha: string }
/** The mode the first scenario ran in: when that was the fallback, the second has nothing to add. */
let firstMode: Hosts['mode'] | undefined

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'pipbingo-relays-test-'))
  webRoot = join(tmp, 'web')
  await buildWebApp(webRoot)
  const bytes = await readFile(join('library', SAMPLE))
  sample = { bytes, sha: sha256(bytes) }
}, 120_000)

afterAll(async () => { await rm(tmp, { recursive: true, force: true }) })

/** The debug namespaces of a bridge's dials to peers (session.ts logs each with its steps) and of their failures. */
const DIAL_LOG = 'pipbingo:bridge:swarm,libp2p:webrtc:error,libp2p:connection-manager:dial-queue:error'

/** What a bridge logged of its dials to peers, for an assertion's message. */
function dialsOf (bridge: HostBridge): string {
  return bridge.daemon.output.filter(line => /pipbingo:bridge:swarm|:error /.test(line)).slice(-40).join('\n')
}

function sha256 (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** The catalogue entry of the sample on `relay`, once its catalogue lists it (`/events` sends the whole list on connect and on every change). */
async function listed (relay: HostRelay, predicate: (entry: any) => boolean = () => true): Promise<any> {
  const list = await nextEvent<any[]>(relay.url, (event, data) => event === 'catalogue' && data.some(e => e.filename === SAMPLE && predicate(e)), { signal: AbortSignal.timeout(60_000) })
  return list.find(e => e.filename === SAMPLE)
}

/** A bridge on a new host, attached to `relay`, that downloads the sample: its final stats. */
async function bridgeDownload (hosts: Hosts, name: string, relay: HostRelay): Promise<{ bridge: HostBridge, stats: any }> {
  // its dials, and their failures, in its output: what says why a peer served less than expected
  const bridge = await (await hosts.add(name)).spawnBridge(['--relay-http', relay.url], { DEBUG: DIAL_LOG })
  let opened!: () => void
  const open = new Promise<void>(resolve => { opened = resolve })
  const ended = nextEvent(bridge.url, (event, d: any) => {
    if (event === 'snapshot') opened()
    return event === 'state' && d.status.filename === SAMPLE && (d.to === 'seeding' || d.to === 'failed')
  }, { signal: AbortSignal.timeout(90_000) })
  // awaited below; until then a failure must not become an unhandled rejection
  ended.catch(() => {})
  await open
  const reply = (await postDownload(bridge.url, SAMPLE)).body
  // started, or queued until a holder is found: the lookup across relays (DHT, then the origin's
  // tracker) can outlast the request on a loaded machine. Never queued for a slot: nothing else runs
  if (reply.status !== 'started') expect(reply, JSON.stringify(reply)).toMatchObject({ status: 'queued', download: { waiting_for: 'source' } })
  const end = await ended.catch(async (err: Error) => {
    const seen = `status ${JSON.stringify(await (await bridge.api('/status')).json())}; stats ${JSON.stringify(await (await bridge.api('/stats')).json())}`
    const log = join(tmpdir(), `pipbingo-${name}-${process.pid}.log`)
    await writeFile(log, bridge.daemon.output.join('\n'))
    console.error(`${name}: ${seen}; its whole output in ${log}, the end:\n${bridge.daemon.output.slice(-60).join('\n')}`)
    throw new Error(`${err.message}; ${seen}`)
  })
  expect(end.status, JSON.stringify(end.status)).toMatchObject({ status: 'seeding' })
  const streamed = new Uint8Array(await (await bridge.api(`/stream/${SAMPLE}`)).arrayBuffer())
  expect(sha256(streamed)).toBe(sample.sha)
  return { bridge, stats: await (await bridge.api('/stats')).json() }
}

function scenario (title: string, mode: HostsMode | undefined): void {
  describe(title, () => {
    let hosts: Hosts
    let a: HostRelay
    let b: HostRelay
    let c: HostRelay
    let contentId: string
    let skip = false

    beforeAll(async () => {
      if (mode === 'loopback' && firstMode === 'loopback') { skip = true; return }
      hosts = await createHosts({ mode })
      firstMode ??= hosts.mode
      console.log(`hosts: ${hosts.mode}${hosts.reason != null ? ` (${hosts.reason})` : ''}`)
      const prepared: PreparedRelay[] = []
      for (const name of ['a', 'b', 'c']) prepared.push(await (await hosts.add(name)).prepareRelay())
      const libraries = await Promise.all(['a', 'b', 'c'].map(async name => {
        const dir = join(hosts.dir, `library-${name}`)
        await mkdir(dir)
        return dir
      }))
      await copyFile(join('library', SAMPLE), join(libraries[0]!, SAMPLE))
      ;[a, b, c] = await Promise.all(prepared.map(async (r, i) => await r.spawn([
        '--library', libraries[i]!, '--web-root', webRoot,
        ...prepared.filter(o => o !== r).flatMap(o => ['--peer-relay', o.tcp])
      ]))) as [HostRelay, HostRelay, HostRelay]
    }, 180_000)

    afterAll(async () => { await hosts?.close() })

    it('relays B and C list relay A\'s video, marked as coming from relay A', async ({ skip: skipTest }) => {
      if (skip) skipTest('the first scenario already ran on the loopback fallback')
      const onA = await listed(a)
      contentId = onA.contentId
      for (const relay of [b, c]) {
        const entry = await listed(relay, e => e.source === 'relay')
        expect(entry).toMatchObject({ contentId: onA.contentId, size: sample.bytes.byteLength, origin: false, source: 'relay', relay: a.peerId })
        expect(entry.url).toBeUndefined()
        // its manifest fetched ahead, though no viewer asked this relay for it yet
        await expect.poll(async () => await relay.metric('pipbingo_peer_relay_manifests'), { timeout: 30_000, interval: 200 }).toBe(1)
        expect(await relay.metric('pipbingo_peer_relay_videos')).toBe(1)
      }
    }, 90_000)

    it('a tab attached to relay B plays it: relay A, found through the DHT, is its origin', async ({ skip: skipTest }) => {
      if (skip) skipTest('the first scenario already ran on the loopback fallback')
      const tabHost = await hosts.add('tab')
      const browser = await tabHost.launchChromium()
      const tab = await openApp(browser, `${b.url}/?play=${SAMPLE}`)
      await waitPlaying(tab)
      await tab.waitForFunction((id) => (window.pipbingo.stats() as any)?.contents.find((x: any) => x.contentId === id)?.complete === true, contentId, { timeout: 60_000, polling: 100 })
      const stats = await statsOf(tab)
      // every byte from relay A's node (B holds none, and has no HTTP copy of it): A is the origin the DHT named
      expect(stats.bytesFromOrigin).toBe(sample.bytes.byteLength)
      expect(stats.bytesFromHttp).toBe(0)
      expect(stats.bySource[a.peerId]).toBe(sample.bytes.byteLength)
      expect(await a.metric('pipbingo_libp2p_bytes_served_total')).toBeGreaterThanOrEqual(sample.bytes.byteLength)
    }, 120_000)

    it('a bridge attached to relay C downloads it, most bytes from the tab on relay B', async ({ skip: skipTest }) => {
      if (skip) skipTest('the first scenario already ran on the loopback fallback')
      const { bridge, stats } = await bridgeDownload(hosts, 'bridge-c', c)
      console.log(`bridge on C (${hosts.mode}): ${stats.bytes_from_peers} bytes from peers, ${stats.bytes_from_origin} from the origin (${stats.bytes_from_http} over HTTP)`)
      expect(stats.bytes_from_peers + stats.bytes_from_origin).toBe(sample.bytes.byteLength)
      // on loopback a WebRTC connection to the tab is not promised: relay A may serve it
      if (hosts.mode === 'netns') expect(stats.bytes_from_peers, dialsOf(bridge)).toBeGreaterThan(sample.bytes.byteLength / 2)
      // relay C holds no copy: the bridge does not ask its /videos
      expect(stats.bytes_from_http).toBe(0)
      expect(await c.metric('pipbingo_http_bytes_served_total')).toBe(0)
    }, 150_000)

    it('relay A leaves: a bridge attached to relay B still gets the whole video, from peers', async ({ skip: skipTest }) => {
      if (skip) skipTest('the first scenario already ran on the loopback fallback')
      await a.stop()
      // B holds A's manifest (fetched ahead, first test) and gives it with A gone
      expect((await fetch(`${b.url}/manifest/${SAMPLE}`)).status).toBe(200)
      const { bridge, stats } = await bridgeDownload(hosts, 'bridge-b', b)
      console.log(`bridge on B after A left: ${stats.bytes_from_peers} bytes from peers, ${stats.bytes_from_origin} from the origin`)
      expect(stats.bytes_from_peers, dialsOf(bridge)).toBe(sample.bytes.byteLength)
      expect(stats.bytes_from_origin).toBe(0)
      for (const relay of [b, c]) expect((await fetch(`${relay.url}/health`)).status).toBe(200)
    }, 150_000)
  })
}

scenario('three relays, one network: found through the DHT, served by peers', undefined)
scenario('the same on the loopback fallback (distinct loopback addresses, free ports)', 'loopback')
