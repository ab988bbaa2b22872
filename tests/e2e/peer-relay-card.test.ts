import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { startRelay, tcpAddr, type TestRelay } from '../helpers/relay'
import { openApp, startWebRig, type WebRig } from '../helpers/web'

/**
 * The web app of relay B, which is given relay A by --peer-relay: A's
 * library video is in B's catalogue, and its card says in words where it
 * comes from (not a peer id), and that it is not a video nobody shares.
 */
describe('a video of another relay in the web app', () => {
  let a: TestRelay
  let rig: WebRig
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    a = await startRelay([{ name: 'from-relay-a.mp4', bytes: await readFile('library/sample.mp4') }])
    rig = await startWebRig([], { relay: () => ({ peerRelays: [tcpAddr(a).toString()], peerRelayPollMs: 500 }) })
    browser = await rig.newBrowser()
  }, 120_000)

  afterAll(async () => {
    await rig?.close()
    await a?.close()
  })

  it('its card says "From another relay of this network", and it counts as available', async () => {
    page = await openApp(browser, rig.relay.httpUrl())
    const card = page.getByRole('link', { name: /from relay a/i })
    await expect.poll(async () => await card.count(), { timeout: 30_000 }).toBe(1)
    const text = await card.textContent()
    expect(text).toMatch(/From another relay of this network/)
    expect(text).toMatch(/From another relay\b/)
    expect(text).not.toMatch(/Nobody shares it/)
    expect(text).not.toContain(a.relay.node.peerId.toString())
    // nothing to hide as "nobody shares" it
    expect(await page.getByLabel(/nobody shares now/).count()).toBe(0)
  })
})
