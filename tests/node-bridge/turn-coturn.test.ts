import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RTCPeerConnection } from 'node-datachannel/polyfill'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { forLibdatachannel } from '../../node-bridge/node'
import { turnCredential } from '../../relay/ice-servers'
import { startBridge, type TestBridge } from '../helpers/bridge'
import { COTURN_PORT, startCoturn, type Coturn } from '../helpers/coturn'
import { createTestNetwork, type TestNetwork } from '../helpers/netns'
import { startRelay, type TestRelay } from '../helpers/relay'
import { describeWithNamespaces } from '../helpers/describe-netns'

const SECRET = 'north-wind-7d1c2b9e4f0a'

/** Wait (30 s at most) until the connection has gathered every candidate. */
async function gathered (pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('ICE gathering did not complete in 30 s')) }, 30_000)
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve() } })
  })
}

function candidates (sdp: string): string[] {
  return sdp.split(/\r?\n/).filter(l => l.startsWith('a=candidate:'))
}


/** WebRTC between browsers needs network namespaces: skipped, with the reason, where they cannot be made. */
const describe = await describeWithNamespaces()

/**
 * The bridge's side of TURN, proven against a real coturn configured as the
 * README says: libdatachannel (node-datachannel) allocates relay candidates
 * with the credentials the relay hands out, as the bridge passes them on.
 */
describe('the bridge\'s WebRTC through a real coturn, with the relay\'s credentials', () => {
  let network: TestNetwork
  let dir: string
  let coturn: Coturn
  let relay: TestRelay
  let bridge: TestBridge
  let turnUrl: string
  const open: RTCPeerConnection[] = []

  /** An RTCPeerConnection as the bridge's node makes one (libdatachannel's form of the servers, its sockets on the test network), relayed candidates only. */
  function peer (iceServers: RTCIceServer[]): RTCPeerConnection {
    const pc = new RTCPeerConnection({ iceServers: forLibdatachannel(iceServers), iceTransportPolicy: 'relay', bindAddress: network.hostAddress } as RTCConfiguration)
    open.push(pc)
    return pc
  }

  /** The candidates one connection gathers with `iceServers`, as raw libdatachannel configuration (no encoding). */
  async function gather (pc: RTCPeerConnection): Promise<string[]> {
    pc.createDataChannel('probe')
    await pc.setLocalDescription(await pc.createOffer())
    await gathered(pc)
    return candidates(pc.localDescription!.sdp)
  }

  beforeAll(async () => {
    network = await createTestNetwork()
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-coturn-'))
    coturn = await startCoturn(network, { secret: SECRET, dir })
    turnUrl = `turn:${coturn.ns.address}:${COTURN_PORT}?transport=udp`
    relay = await startRelay([], { host: network.hostAddress, turn: [turnUrl], turnSecret: SECRET, turnTtlSeconds: 600 })
    bridge = await startBridge(relay, { host: network.hostAddress })
  }, 60_000)

  afterAll(async () => {
    for (const pc of open) pc.close()
    await bridge?.close()
    await relay?.close()
    await coturn?.stop()
    await network?.close()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('two relay-only connections made with the bridge\'s ICE servers connect through coturn and carry data', async () => {
    const { iceServers } = await bridge.bridge.ice.rtcConfiguration()
    expect(iceServers).toEqual([{ urls: [turnUrl], username: expect.stringMatching(/^\d+:/), credential: expect.any(String) }])
    const [a, b] = [peer(iceServers!), peer(iceServers!)]
    const channel = a.createDataChannel('turn-test')
    const received = new Promise<string>(resolve => {
      b.addEventListener('datachannel', e => { (e as RTCDataChannelEvent).channel.addEventListener('message', (m: MessageEvent) => { resolve(String(m.data)) }) })
    })
    await a.setLocalDescription(await a.createOffer())
    await gathered(a)
    await b.setRemoteDescription(a.localDescription!)
    await b.setLocalDescription(await b.createAnswer())
    await gathered(b)
    await a.setRemoteDescription(b.localDescription!)
    // relay-only: every candidate either side offers is an address coturn allocated
    for (const pc of [a, b]) {
      const cs = candidates(pc.localDescription!.sdp)
      expect(cs.length).toBeGreaterThan(0)
      for (const c of cs) expect(c).toMatch(new RegExp(` ${coturn.ns.address.replaceAll('.', '\\.')} \\d+ typ relay`))
    }
    if (channel.readyState !== 'open') await new Promise(resolve => channel.addEventListener('open', resolve, { once: true }))
    channel.send('through coturn')
    expect(await received).toBe('through coturn')
    // libjuice's relay policy only keeps host candidates out of the offer: the pair in use is what proves the path
    for (const pc of [a, b]) {
      expect(pc.selectedCandidatePair()).toMatchObject({ local: { type: 'relay', address: coturn.ns.address }, remote: { type: 'relay', address: coturn.ns.address } })
    }
  })

  it('coturn refuses what the bridge must not send: the credentials unencoded (libdatachannel splits the username at its ":"), an expired username, a wrong secret', async () => {
    const { iceServers } = await bridge.bridge.ice.rtcConfiguration()
    const server = iceServers![0]!
    const past = `${Math.floor(Date.now() / 1000) - 60}:expired`
    const wrong = `${Math.floor(Date.now() / 1000) + 600}:wrong`
    const cases: Array<[string, RTCConfiguration]> = [
      ['unencoded', { iceServers: [server], iceTransportPolicy: 'relay' }],
      ['expired', { iceServers: forLibdatachannel([{ urls: server.urls, username: past, credential: turnCredential(SECRET, past) }]), iceTransportPolicy: 'relay' }],
      ['wrong secret', { iceServers: forLibdatachannel([{ urls: server.urls, username: wrong, credential: turnCredential('not-the-secret-at-all', wrong) }]), iceTransportPolicy: 'relay' }]
    ]
    for (const [what, config] of cases) {
      const pc = new RTCPeerConnection({ ...config, bindAddress: network.hostAddress } as RTCConfiguration)
      open.push(pc)
      expect({ what, candidates: await gather(pc) }).toEqual({ what, candidates: [] })
    }
    // and the same connection with the bridge's own form gets its relayed candidate
    expect((await gather(peer(iceServers!))).some(c => c.includes(' typ relay'))).toBe(true)
  })
})
