import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { startBridge, type TestBridge } from '../helpers/bridge'
import { startWebRig, type WebRig } from '../helpers/web'

const NAME = 'sample.mp4'

/** A loopback port nothing listens on (a bridge may be started there later). */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

interface Watched {
  page: Page
  /** Console errors and uncaught exceptions of the app. */
  errors: string[]
  /** What the browser printed about requests to the bridge. */
  bridgeErrors: string[]
}

/** A tab in a fresh context, its console errors and uncaught exceptions kept. */
async function newTab (browser: Browser, bridgeUrl: string): Promise<Watched> {
  const page = await (await browser.newContext()).newPage()
  const watched: Watched = { page, errors: [], bridgeErrors: [] }
  page.on('console', msg => {
    if (msg.type() !== 'error') return
    const line = `${msg.text()} (${msg.location().url})`
    if (msg.location().url.startsWith(bridgeUrl)) watched.bridgeErrors.push(line)
    // what the browser prints itself about other resources (a favicon…) is not the app's doing
    else if (!msg.text().startsWith('Failed to load resource')) watched.errors.push(line)
  })
  page.on('pageerror', err => { watched.errors.push(`uncaught: ${err.message}`) })
  return watched
}

/**
 * The web app with a bridge daemon on this computer (the seed's four
 * integration points): its downloads on the Downloads page, "Save to this
 * computer" and "Play from this computer" on the watch page, its /stats in
 * the P2P overlay — and none of it without a bridge. Real relay serving the
 * built app, real bridge against that relay, real Chromium; the page is
 * told where the bridge is with `?bridge=<url>` (the bridge runs on an
 * ephemeral port), and is driven by roles and names, as a person would.
 */
describe('the web app and a bridge on this computer', () => {
  let rig: WebRig
  let title: string
  let bridge: TestBridge | undefined

  beforeAll(async () => {
    rig = await startWebRig([`library/${NAME}`])
    const list = await (await fetch(`${rig.relay.httpUrl()}/list`)).json() as Array<{ filename: string, title: string }>
    title = list.find(e => e.filename === NAME)!.title
  }, 120_000)

  afterAll(async () => {
    await bridge?.close().catch(() => {})
    await rig?.close()
  })

  it('without a bridge nothing of it shows, nothing is logged but refused connections; a bridge that starts later appears', async () => {
    const port = await closedPort()
    const absent = `http://127.0.0.1:${port}`
    const browser = await rig.newBrowser()
    const { page, errors, bridgeErrors } = await newTab(browser, absent)

    // the Downloads page: the probe was refused, no "This computer" section
    let refused = page.waitForEvent('requestfailed', r => r.url() === `${absent}/health`)
    await page.goto(`${rig.relay.httpUrl()}/downloads?bridge=${encodeURIComponent(absent)}`)
    await refused
    await expect.poll(async () => await page.getByRole('region', { name: 'This computer', exact: true }).count()).toBe(0)

    // the watch page, reached from the catalogue: no "Save to this computer"
    refused = page.waitForEvent('requestfailed', r => r.url() === `${absent}/health`)
    await page.goto(`${rig.relay.httpUrl()}/?bridge=${encodeURIComponent(absent)}`)
    await refused
    await page.getByRole('link', { name: title }).or(page.getByRole('button', { name: title })).first().click()
    await page.getByRole('heading', { level: 1, name: title }).waitFor()
    expect(await page.getByRole('button', { name: 'Save to this computer' }).count()).toBe(0)
    expect(await page.getByRole('button', { name: 'Play from this computer' }).count()).toBe(0)

    // only the browser's own lines about the refused connections
    expect(bridgeErrors.length).toBeGreaterThan(0)
    expect(bridgeErrors.every(line => line.startsWith('Failed to load resource: net::ERR_CONNECTION_REFUSED'))).toBe(true)
    expect(errors).toEqual([])

    // the page keeps asking: a bridge started on that port shows up without a reload (so the absence above was real)
    bridge = await startBridge({ httpUrl: rig.relay.httpUrl() }, { apiPort: port })
    await expect.poll(async () => await page.getByRole('button', { name: 'Save to this computer' }).count(), { timeout: 15_000, interval: 250 }).toBe(1)
    await bridge.close()
    bridge = undefined
    // and disappears when it stops
    await page.getByRole('button', { name: 'Save to this computer' }).waitFor({ state: 'detached', timeout: 15_000 })
  }, 90_000)

  it('saves on the watch page, lists it live on Downloads, plays it from the bridge, shows its stats in the overlay', async () => {
    bridge = await startBridge({ httpUrl: rig.relay.httpUrl() })
    await bridge.bridge.relayLink.waitConnected()
    const url = encodeURIComponent(bridge.url)
    const browser = await rig.newBrowser()

    // a tab on the Downloads page, never reloaded below
    const downloads = (await newTab(browser, bridge.url)).page
    await downloads.goto(`${rig.relay.httpUrl()}/downloads?bridge=${url}`)
    const here = downloads.getByRole('region', { name: 'This computer', exact: true })
    await here.getByText('Nothing saved on this computer yet').waitFor()

    // another tab: the catalogue, the video, "Save to this computer"
    const watched = await newTab(browser, bridge.url)
    const page = watched.page
    await page.goto(`${rig.relay.httpUrl()}/?bridge=${url}`)
    await page.getByRole('link', { name: title }).or(page.getByRole('button', { name: title })).first().click()
    await page.getByRole('button', { name: 'Save to this computer' }).click()

    // the bridge has it, then finishes it
    await expect.poll(async () => (await (await bridge!.api('/status')).json())[NAME]?.status, { timeout: 15_000 })
      .toMatch(/^(queued|downloading|completed|seeding)$/)
    await bridge.waitFor(NAME, 'seeding')

    // the Downloads tab shows it, as it is now, without a reload
    const item = here.getByRole('listitem', { name: NAME })
    await item.getByText(/^Saved/).waitFor()
    // it reads as the catalogue's title, the file's name beside it
    expect(await item.locator('.file').textContent()).toBe(`${title}${title === NAME ? '' : NAME}`)
    expect(await item.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100')
    expect(await here.getByText('Nothing saved on this computer yet').count()).toBe(0)

    // "Play from this computer": the <video> plays from the bridge's /stream
    await page.evaluate(() => {
      const seen: string[] = (window as any).__bridgeTestPlaying = []
      document.addEventListener('playing', e => { seen.push((e.target as HTMLVideoElement).currentSrc) }, true)
    })
    await page.getByRole('button', { name: 'Play from this computer' }).click()
    await page.waitForFunction(stream => ((window as any).__bridgeTestPlaying as string[]).some(src => src.startsWith(stream)), `${bridge.url}/stream/`, { timeout: 30_000 })
    expect(await page.locator('video').evaluate((v: HTMLVideoElement) => v.currentSrc)).toBe(`${bridge.url}/stream/${NAME}`)
    expect(await page.locator('video').evaluate((v: HTMLVideoElement) => v.error)).toBeNull()

    // the P2P overlay (shown by default): hidden with its button, shown again with the key o; the bridge's peer id and counts
    const stats = page.getByRole('region', { name: 'This computer (bridge)' })
    await stats.waitFor()
    await page.getByRole('button', { name: 'P2P overlay' }).click()
    await stats.waitFor({ state: 'detached' })
    await page.keyboard.press('o')
    await stats.getByText(bridge.bridge.node.peerId.toString()).waitFor()
    await stats.getByText(/1 seeding/).waitFor()

    expect(watched.errors).toEqual([])
  }, 120_000)
})
