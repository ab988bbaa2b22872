import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { launchChromium } from '../helpers/chromium'
import { createTestCa, type TestCa } from '../helpers/tls'
import { openApp, startWebRig, statsOf, waitPlaying, type WebRig } from '../helpers/web'
import { describeWithNamespaces } from '../helpers/describe-netns'

/** WebRTC between browsers needs network namespaces: skipped, with the reason, where they cannot be made. */
const describe = await describeWithNamespaces()

/**
 * Issue 11's bar for a relay beyond localhost: the app loaded over HTTPS
 * from the relay's address on a test network (a certificate of a test CA
 * naming that IP), in Chromium told to trust that one certificate by its
 * SPKI hash, never all errors. The page is a secure context because it is
 * HTTPS (no insecure-origin flag), its service worker streams the sample,
 * and its libp2p node reaches the relay over WSS, the relay's only
 * WebSockets listener. Real relay, real Chromium in a namespace.
 */
describe('the app over HTTPS from a relay with a certificate', () => {
  let ca: TestCa
  let rig: WebRig
  let browser: Browser

  beforeAll(async () => {
    ca = await createTestCa()
    rig = await startWebRig(['library/sample.mp4'], { netns: true, tls: ca })
    browser = await rig.newBrowser()
  }, 120_000)

  afterAll(async () => {
    await rig?.close()
    await ca?.close()
  })

  it('plays the sample through the service worker, the tab connected to the relay over /tls/ws', async () => {
    const url = rig.relay.httpUrl()
    expect(url).toMatch(/^https:\/\/10\.231\.\d+\.1:\d+$/)
    // the relay offers WSS and no plain ws://
    const advertised = rig.relay.multiaddrs().map(String).filter(a => /\/ws(\/|$)/.test(a))
    expect(advertised).toEqual([expect.stringMatching(/\/tls\/ws\/p2p\//)])

    const page = await openApp(browser, url)
    expect(await page.evaluate(() => ({ protocol: location.protocol, secure: isSecureContext }))).toEqual({ protocol: 'https:', secure: true })
    const worker = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL)
    expect(worker).toBe(`${url}/sw.js`)

    await page.evaluate(async () => { await window.pipbingo.play('sample.mp4') })
    await waitPlaying(page)
    // the relay has no /stream route: only the service worker answers it
    expect(await page.locator('video').evaluate((v: HTMLVideoElement) => v.currentSrc)).toMatch(new RegExp(`^${url.replace(/\./g, '\\.')}/stream/`))

    const stats = await statsOf(page)
    expect(stats.relay).toEqual({ connected: true, addr: advertised[0] })
    const tab = rig.relay.node.getPeers().find(p => p.toString() === stats.peerId)
    expect(tab).toBeDefined()
    expect(stats.bytesFromOrigin).toBeGreaterThan(0)
  }, 120_000)

  it('the trust is that one key\'s: a browser given another SPKI hash refuses the page (the test CA is unknown to it)', async () => {
    const other = await ca.issue({ ips: ['192.0.2.1'] })
    const ns = await rig.network!.addNamespace()
    const stranger = await launchChromium({ netns: { ip: rig.network!.ip, name: ns.name }, trustSpki: [other.spki] })
    try {
      const page = await stranger.newPage()
      await expect(page.goto(rig.relay.httpUrl())).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/)
    } finally {
      await stranger.close()
    }
  }, 60_000)
})
