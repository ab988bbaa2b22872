import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { makeContent, type TestContent } from '../helpers/content'
import { startHolder, type Holder } from '../helpers/relay'
import { openApp, startWebRig, waitPlaying, type WebRig } from '../helpers/web'

/**
 * Issue 16, row 2: a title or a name that is markup is shown as text,
 * everywhere the app shows it, and no script of it runs. Real relay, real
 * Chromium (a page error fails the test: tests/helpers/page-errors.ts).
 * One title comes from a Node peer that holds its video (the relay checks
 * chunks over that peer's TCP connection); one name from the browser's own
 * publishing flow (checked over the tab's WebSocket connection).
 */
const SCRIPT_TITLE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
const MARKUP_NAME = '<img src=x onerror=document.body.dataset.pwned=1>.mp4'
const MARKUP_TITLE = '<img src=x onerror=document.body.dataset.pwned=1>'

/** What markup that ran would have left in the page. */
async function traces (page: Page): Promise<{ pwned: unknown, dataset: unknown, images: number, scripts: number }> {
  return await page.evaluate(() => ({
    pwned: (window as any).__pwned,
    dataset: document.body.dataset.pwned,
    images: document.querySelectorAll('img[src="x"]').length,
    scripts: [...document.scripts].filter(s => (s.textContent ?? '').includes('__pwned')).length
  }))
}

const CLEAN = { pwned: undefined, dataset: undefined, images: 0, scripts: 0 }

describe('hostile titles and names in the web app', () => {
  let rig: WebRig
  let browser: Browser
  let holder: Holder
  let content: TestContent
  let dir: string

  beforeAll(async () => {
    rig = await startWebRig([])
    browser = await rig.newBrowser()
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-hostile-'))
    await copyFile('library/sample.mp4', join(dir, MARKUP_NAME))
    content = await makeContent(3 * 256 * 1024 + 5, { seed: 1666, name: 'clip.webm' })
    holder = await startHolder(rig.relay.multiaddrs().find(a => !a.toString().includes('/ws'))!, [content])
  }, 120_000)

  afterAll(async () => {
    await holder?.stop()
    await rig?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('a <script> title from a peer and an <img onerror> name from the tab: shown as text on the cards and the player, nothing runs', async () => {
    const res = await fetch(`${rig.relay.httpUrl()}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ manifest: content.manifest, peerId: holder.peerId, title: SCRIPT_TITLE })
    })
    expect(res.status).toBe(201)

    // the tab publishes a real video under a name that is markup (verified by the relay over the tab's connection)
    const page = await openApp(browser, `${rig.relay.httpUrl()}/share`)
    await page.getByLabel('Choose a video file to publish').setInputFiles(join(dir, MARKUP_NAME))
    const card = page.getByRole('article', { name: `Publishing ${MARKUP_NAME}` })
    await expect.poll(async () => await card.getByRole('status').first().textContent(), { timeout: 30_000 }).toMatch(/Published/)
    expect(await traces(page)).toEqual(CLEAN)

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Browse' }).click()
    const titles = page.locator('h2.title')
    await expect.poll(async () => (await titles.allTextContents()).sort()).toEqual([SCRIPT_TITLE, MARKUP_TITLE].sort())
    expect(await page.getByRole('link', { name: SCRIPT_TITLE }).count()).toBe(1)
    expect(await traces(page)).toEqual(CLEAN)

    // the player's page of the tab's own video: its heading, as text
    await page.getByRole('link', { name: MARKUP_TITLE }).click()
    await waitPlaying(page)
    await expect.poll(async () => await page.getByRole('heading', { level: 1 }).textContent()).toBe(MARKUP_TITLE)
    expect(await traces(page)).toEqual(CLEAN)

    // a fresh page load of the catalogue (server-sent list, not the tab's state)
    const other = await openApp(browser, rig.relay.httpUrl())
    await expect.poll(async () => (await other.locator('h2.title').allTextContents()).sort()).toEqual([SCRIPT_TITLE, MARKUP_TITLE].sort())
    expect(await traces(other)).toEqual(CLEAN)
  }, 120_000)
})
