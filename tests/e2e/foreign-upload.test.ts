import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { openApp, startWebRig, type WebRig } from '../helpers/web'

/** The library's files (no dot-folder) and what is left in its uploads folder. */
async function folders (rig: WebRig): Promise<{ library: string[], uploads: string[] }> {
  const library = (await readdir(rig.relay.library.dir)).filter(n => !n.startsWith('.')).sort()
  const uploads = await readdir(rig.relay.library.uploadsDir).catch(() => [])
  return { library, uploads }
}

/**
 * Issue 16, row 5, in real Chromium: a page served from another loopback
 * port (any program on this machine, or any site the person visits, can
 * make one) aims its visitor's browser at the relay's `POST /upload` — a
 * real form submission with a file in it, a no-cors fetch, a CORS fetch.
 * Before, each put a file in `library/`; now each gets 403 and nothing
 * lands. The app's own "Also upload to the server" still works.
 */
describe('uploads to the relay come from its own pages only', () => {
  let rig: WebRig
  let browser: Browser
  let site: Server
  let siteUrl: string
  let dir: string

  beforeAll(async () => {
    rig = await startWebRig([])
    browser = await rig.newBrowser()
    site = createServer((_req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>elsewhere</title><p>a page</p>') })
    await new Promise<void>(resolve => site.listen(0, '127.0.0.1', resolve))
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-upload-'))
    await copyFile('library/sample.mp4', join(dir, 'Summer trip.mp4'))
  }, 120_000)

  afterAll(async () => {
    await new Promise<void>(resolve => site?.close(() => { resolve() }))
    await rig?.close()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('a page on another port: its form POST with a file gets 403, its fetches fail; nothing lands in library/', async () => {
    const before = await folders(rig)
    const page = await (await browser.newContext()).newPage()
    await page.goto(siteUrl)
    const upload = `${rig.relay.httpUrl()}/upload`

    const fetches = await page.evaluate(async (url) => {
      const attempt = async (f: () => Promise<Response>): Promise<string> => {
        try { return `status ${(await f()).status}` } catch (err) { return `failed: ${(err as Error).name}` }
      }
      const form = (): FormData => {
        const data = new FormData()
        data.append('file', new File([new Uint8Array(200_000).fill(7)], 'planted.mp4', { type: 'video/mp4' }))
        return data
      }
      return {
        noCors: await attempt(async () => await fetch(url, { method: 'POST', mode: 'no-cors', body: form() })),
        cors: await attempt(async () => await fetch(url, { method: 'POST', body: new Uint8Array(100_000).fill(8), headers: { 'Content-Type': 'video/mp4' } }))
      }
    }, upload)
    // a no-cors answer is opaque (status 0) whatever it was; a CORS one is unreadable without a grant
    expect(fetches).toEqual({ noCors: 'status 0', cors: 'failed: TypeError' })

    // a real form, with a file the page made, submitted as a navigation: the browser shows what the relay answered
    const answered = page.waitForResponse(res => res.url() === upload)
    await page.evaluate((url) => {
      const form = document.createElement('form')
      form.method = 'POST'
      form.enctype = 'multipart/form-data'
      form.action = url
      const input = document.createElement('input')
      input.type = 'file'
      input.name = 'file'
      const files = new DataTransfer()
      files.items.add(new File([new Uint8Array(300_000).fill(9)], 'planted.mp4', { type: 'video/mp4' }))
      input.files = files.files
      form.append(input)
      document.body.append(form)
      form.submit()
    }, upload)
    const response = await answered
    expect(response.status()).toBe(403)
    expect(await response.request().headerValue('origin')).toBe(new URL(siteUrl).origin)

    expect(await folders(rig)).toEqual({ ...before, uploads: [] })
    expect(rig.relay.library.size).toBe(0)
    await page.context().close()
  })

  it('the app itself: publish a file, then "Also upload to the server" puts it in library/', async () => {
    const before = await folders(rig)
    const page = await openApp(browser, `${rig.relay.httpUrl()}/share`)
    await page.getByLabel('Choose a video file to publish').setInputFiles(join(dir, 'Summer trip.mp4'))
    const card = page.getByRole('article', { name: 'Publishing Summer trip.mp4' })
    await expect.poll(async () => await card.getByRole('status').first().textContent(), { timeout: 30_000 }).toMatch(/Published/)
    await card.getByRole('button', { name: 'Also upload to the server' }).click()
    await card.getByRole('status').filter({ hasText: 'Uploaded to the server' }).waitFor({ timeout: 30_000 })

    const after = await folders(rig)
    const added = after.library.filter(n => !before.library.includes(n))
    expect(added).toEqual([expect.stringMatching(/^video_\d{13}\.mp4$/)])
    expect(after.uploads).toEqual([])
    expect((await readFile(join(rig.relay.library.dir, added[0]!))).equals(await readFile(join(dir, 'Summer trip.mp4')))).toBe(true)
    expect(rig.relay.library.byFilename(added[0]!)?.title).toBe('Summer trip')
    await page.context().close()
  })
})
