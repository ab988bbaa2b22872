import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { COTURN_PORT, startCoturn, type Coturn } from '../helpers/coturn'
import { opensslTurnCredential } from '../helpers/turn'
import { openApp, startWebRig, statsOf, type WebRig } from '../helpers/web'
import { describeWithNamespaces } from '../helpers/describe-netns'

const SECRET = 'north-wind-7d1c2b9e4f0a'

/**
 * Test-only: every RTCPeerConnection of the page gathers relayed candidates
 * only (`iceTransportPolicy: 'relay'`), so a connection that works went
 * through TURN. Kept in `window.rtcPeers`, with the configuration each got.
 */
async function relayOnly (context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection
    const peers: Array<{ pc: RTCPeerConnection, config: unknown }> = []
    ;(window as any).rtcPeers = peers
    window.RTCPeerConnection = class extends Native {
      constructor (config?: RTCConfiguration) {
        super({ ...config, iceTransportPolicy: 'relay' })
        peers.push({ pc: this, config: JSON.parse(JSON.stringify(config ?? null)) })
      }
    }
  })
}

/**
 * Two bare RTCPeerConnections, one in each page, joined by offer and answer
 * carried here (each side waits for its candidates first): resolves with
 * the offerer's final state, `connected` or `failed`.
 */
async function rawConnection (offerer: Page, offerConfig: RTCConfiguration, answerer: Page, answerConfig: RTCConfiguration): Promise<string> {
  const gatherAll = async (pc: RTCPeerConnection): Promise<RTCSessionDescriptionInit> => {
    if (pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error('ICE gathering did not complete in 30 s')) }, 30_000)
        pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve() } })
      })
    }
    return pc.localDescription!.toJSON()
  }
  const offer = await offerer.evaluate(async ({ config, gather }) => {
    const pc = new RTCPeerConnection(config)
    ;(globalThis as any).rawPc = pc
    pc.createDataChannel('raw')
    await pc.setLocalDescription(await pc.createOffer())
    return await (0, eval)(gather)(pc)
  }, { config: offerConfig, gather: gatherAll.toString() })
  const answer = await answerer.evaluate(async ({ config, offer, gather }) => {
    const pc = new RTCPeerConnection(config)
    ;(globalThis as any).rawPc = pc
    await pc.setRemoteDescription(offer)
    await pc.setLocalDescription(await pc.createAnswer())
    return await (0, eval)(gather)(pc)
  }, { config: answerConfig, offer, gather: gatherAll.toString() })
  return await offerer.evaluate(async (answer) => {
    const pc = (globalThis as any).rawPc as RTCPeerConnection
    await pc.setRemoteDescription(answer)
    const state = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`neither connected nor failed in 90 s (${pc.connectionState})`)) }, 90_000)
      const check = (): void => { if (pc.connectionState === 'connected' || pc.connectionState === 'failed') { clearTimeout(timer); resolve(pc.connectionState) } }
      pc.addEventListener('connectionstatechange', check)
      check()
    })
    pc.close()
    return state
  }, answer)
}


/** WebRTC between browsers needs network namespaces: skipped, with the reason, where they cannot be made. */
const describe = await describeWithNamespaces()

/**
 * The credentials work end to end: a real coturn on the test network,
 * configured as the README says, the relay configured with it, and two
 * tabs whose WebRTC may only use relayed candidates. Tab B gets chunks from
 * tab A over that connection.
 */
describe('two tabs connect through a real coturn with the relay\'s credentials', () => {
  let rig: WebRig
  let coturn: Coturn | undefined
  let dir: string
  let browserA: Browser
  let browserB: Browser

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-coturn-'))
    rig = await startWebRig(['library/sample.mp4'], {
      netns: true,
      relay: async (_host, network) => {
        coturn = await startCoturn(network!, { secret: SECRET, dir })
        const at = `${coturn.ns.address}:${COTURN_PORT}`
        return { stun: [`stun:${at}`], turn: [`turn:${at}?transport=udp`], turnSecret: SECRET, turnTtlSeconds: 600 }
      }
    })
    browserA = await rig.newBrowser()
    browserB = await rig.newBrowser()
  }, 120_000)

  afterAll(async () => {
    await coturn?.stop()
    await rig?.close()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('tab B gets chunks from tab A over WebRTC whose selected candidates are both coturn\'s relayed addresses', async () => {
    const url = `${rig.relay.httpUrl()}/?play=sample.mp4`
    const tabA = await openApp(browserA, url, { beforeLoad: relayOnly })
    const contentId = rig.relay.library.byFilename('sample.mp4')!.contentId
    await tabA.waitForFunction((id) => (window.pipbingo.stats() as any)?.contents.find((c: any) => c.contentId === id)?.complete === true, contentId, { timeout: 60_000, polling: 100 })
    const tabB = await openApp(browserB, url, { beforeLoad: relayOnly })
    const aId = (await statsOf(tabA)).peerId
    await tabB.waitForFunction((a) => {
      const s = window.pipbingo.stats() as any
      return s?.peers.some((p: any) => p.id === a && p.direct && p.transport === 'webrtc') && (s.bySource[a] ?? 0) > 0
    }, aId, { timeout: 90_000, polling: 100 })

    // the path of B's connected RTCPeerConnections, from their stats
    const paths = await tabB.evaluate(async () => {
      const out: Array<{ local: string, remote: string, localAddress: string, remoteAddress: string, config: any }> = []
      for (const { pc, config } of (window as any).rtcPeers as Array<{ pc: RTCPeerConnection, config: any }>) {
        if (pc.connectionState !== 'connected') continue
        const stats = [...(await pc.getStats()).values()]
        const transport = stats.find(s => s.type === 'transport')
        const pair = stats.find(s => s.id === transport?.selectedCandidatePairId)
        const local = stats.find(s => s.id === pair?.localCandidateId)
        const remote = stats.find(s => s.id === pair?.remoteCandidateId)
        out.push({ local: local?.candidateType, remote: remote?.candidateType, localAddress: local?.address, remoteAddress: remote?.address, config })
      }
      return out
    })
    expect(paths.length).toBeGreaterThanOrEqual(1)
    for (const p of paths) {
      expect(p).toMatchObject({ local: 'relay', remote: 'relay', localAddress: coturn!.ns.address, remoteAddress: coturn!.ns.address })
      const turn = p.config.iceServers.find((s: RTCIceServer) => s.username != null)
      expect(turn.credential).toBe(await opensslTurnCredential(SECRET, turn.username))
    }
  })

  it('coturn relays to nobody on the private network (the README\'s denied ranges): a relay-only page reaches a relay-only page, never one with host candidates alone', async () => {
    const { iceServers } = await (await fetch(`${rig.relay.httpUrl()}/info`)).json() as { iceServers: RTCIceServer[] }
    const relayOnlyConfig: RTCConfiguration = { iceServers, iceTransportPolicy: 'relay' }
    const [pageA, pageB] = [await browserA.newPage(), await browserB.newPage()]
    try {
      // the control: the same pages, the same credentials, both through coturn
      expect(await rawConnection(pageA, relayOnlyConfig, pageB, relayOnlyConfig)).toBe('connected')
      // B offers only its address on the test network (10.231.x.x, in 10.0.0.0/8): coturn may not send there
      expect(await rawConnection(pageA, relayOnlyConfig, pageB, { iceServers: [] })).toBe('failed')
      // and why: coturn refused A permission to send to B's address
      const denied = await coturn!.line(/A peer IP (\S+) denied in the range: 10\.0\.0\.0-10\.255\.255\.255/)
      expect(rig.network!.namespaces.map(ns => ns.address).filter(a => a !== coturn!.ns.address)).toContain(denied[1])
    } finally {
      await Promise.all([pageA.close(), pageB.close()])
    }
  }, 240_000)
})
