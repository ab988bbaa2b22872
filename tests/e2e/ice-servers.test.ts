import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { openApp, startWebRig, statsOf, type WebRig } from '../helpers/web'
import { opensslTurnCredential, usernameExpiry } from '../helpers/turn'
import { describeWithNamespaces } from '../helpers/describe-netns'

const SECRET = 'north-wind-7d1c2b9e4f0a'
const TTL = 3600
// TEST-NET-2 (RFC 5737): on the test network nobody answers for them (the
// namespaces' link has no gateway), so Chromium's STUN and TURN packets
// never leave it; the tabs still connect over their host candidates
const STUN = ['stun:198.51.100.10:3478']
const TURN = ['turn:198.51.100.10:3478?transport=udp', 'turn:198.51.100.10:3478?transport=tcp']

/** Every RTCPeerConnection the page creates, its configuration as given: `window.rtcConfigurations`. */
async function recordRtcConfigurations (context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection
    const seen: unknown[] = []
    ;(window as any).rtcConfigurations = seen
    window.RTCPeerConnection = class extends Native {
      constructor (config?: RTCConfiguration) {
        seen.push(JSON.parse(JSON.stringify(config ?? null)))
        super(config)
      }
    }
  })
}

async function configurationsOf (page: Page): Promise<RTCConfiguration[]> {
  return await page.evaluate(() => (window as any).rtcConfigurations)
}


/** WebRTC between browsers needs network namespaces: skipped, with the reason, where they cannot be made. */
const describe = await describeWithNamespaces()

/**
 * The relay's STUN/TURN servers reach the RTCPeerConnections that the tabs'
 * libp2p WebRTC transport creates, with a TURN credential derived from the
 * relay's secret. Real relay, real Chromium in network namespaces.
 */
describe('ICE servers configured on the relay reach the tabs\' WebRTC connections', () => {
  let rig: WebRig
  let browserA: Browser
  let browserB: Browser

  beforeAll(async () => {
    rig = await startWebRig(['library/sample.mp4'], { netns: true, relay: () => ({ stun: STUN, turn: TURN, turnSecret: SECRET, turnTtlSeconds: TTL }) })
    browserA = await rig.newBrowser()
    browserB = await rig.newBrowser()
  }, 120_000)

  afterAll(async () => { await rig?.close() })

  it('tab B dials tab A over WebRTC: both connections were made with the relay\'s servers, the credential verifying against the secret', async () => {
    const url = `${rig.relay.httpUrl()}/?play=sample.mp4`
    const tabA = await openApp(browserA, url, { beforeLoad: recordRtcConfigurations })
    const contentId = rig.relay.library.byFilename('sample.mp4')!.contentId
    await tabA.waitForFunction((id) => (window.pipbingo.stats() as any)?.contents.find((c: any) => c.contentId === id)?.complete === true, contentId, { timeout: 60_000, polling: 100 })
    const started = Math.floor(Date.now() / 1000)
    const tabB = await openApp(browserB, url, { beforeLoad: recordRtcConfigurations })
    const aId = (await statsOf(tabA)).peerId
    await tabB.waitForFunction((a) => (window.pipbingo.stats() as any)?.peers.some((p: any) => p.id === a && p.direct && p.transport === 'webrtc'),
      aId, { timeout: 60_000, polling: 100 })

    const [ofA, ofB] = [await configurationsOf(tabA), await configurationsOf(tabB)]
    // B made the connection, A answered it: each created an RTCPeerConnection
    expect(ofB.length).toBeGreaterThanOrEqual(1)
    expect(ofA.length).toBeGreaterThanOrEqual(1)
    for (const config of [...ofA, ...ofB]) {
      // the relay's servers and nothing else (never libp2p's public defaults)
      expect(config.iceServers).toHaveLength(2)
      expect(config.iceServers![0]).toEqual({ urls: STUN })
      const turn = config.iceServers![1]!
      expect(Object.keys(turn).sort()).toEqual(['credential', 'urls', 'username'])
      expect(turn.urls).toEqual(TURN)
      expect(turn.credential).toBe(await opensslTurnCredential(SECRET, turn.username!))
      // the tab's /info was read when it opened (A: before `started`); the credential lives TTL from then
      expect(usernameExpiry(turn.username!)).toBeGreaterThan(started)
      expect(usernameExpiry(turn.username!)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + TTL)
    }
    // each tab got credentials of its own
    expect(ofA[0]!.iceServers![1]!.username).not.toBe(ofB[0]!.iceServers![1]!.username)
  })
})
