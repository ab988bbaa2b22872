import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext } from 'playwright-core'
import { COTURN_PORT, startCoturn, type Coturn } from '../helpers/coturn'
import { opensslTurnCredential } from '../helpers/turn'
import { openApp, startWebRig, statsOf, type WebRig } from '../helpers/web'

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
})
