import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { build } from 'vite'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type { Manifest } from '@core/content/manifest'
import type { SwRequest } from '../../../web/peer/sw-protocol'
import type { FetchResult } from '../../../web/sw/test-harness/harness'
import { relayConfigSchema } from '../../../relay/config'
import { createRelay, type Relay } from '../../../relay/relay'
import { launchChromium } from '../../helpers/chromium'
import { chunkOf, makeContent, type TestContent } from '../../helpers/content'

/**
 * The service worker in a real Chromium, served by a real relay from a real
 * build. The build adds web/sw/test-harness/ to the inputs: a page that
 * seeds IndexedDB through the real IdbChunkStore and plays the tab's part of
 * the protocol (web/peer/sw-protocol.ts), driven through `window.swHarness`.
 *
 * The worker is registered as `/sw.js?chunkTimeoutMs=1500&maxResponseBytes=524288`:
 * a short wait for the tab, and 206s of at most 512 KiB, so the sample video
 * needs several of them.
 */
const TIMEOUT_MS = 1500
const CAP = 512 * 1024
const CHUNK = 256 * 1024

type Harness = Window['swHarness']
type Role = Parameters<Harness['setRole']>[0]

describe('the service worker answers /stream/ from IndexedDB (Chromium)', () => {
  let dir: string
  let relay: Relay
  let browser: Browser
  let context: BrowserContext
  let page: Page
  /** 3 full chunks and a short fourth one. */
  let content: TestContent
  let url: string
  /** What the service worker logged (console.error and console.debug). */
  const swLog: string[] = []
  /** The /stream/ responses the pages saw: `range header → content-range`. */
  const streamed: string[] = []

  const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
  const chunks = (c: TestContent, indexes: number[]): Record<number, string> =>
    Object.fromEntries(indexes.map(i => [i, hex(chunkOf(c, i))]))
  const streamFetch = async (p: Page, path: string, init: { range?: string, method?: string } = {}): Promise<FetchResult> =>
    await p.evaluate(async ([path, init]) => await window.swHarness.fetch(path, init), [path, init] as const)
  const seed = async (p: Page, c: TestContent, indexes: number[]): Promise<string> =>
    await p.evaluate(async ([m, ch]) => await window.swHarness.seed('p0', m, ch), [c.manifest, chunks(c, indexes)] as const)
  const hold = async (p: Page, c: TestContent): Promise<void> => {
    await p.evaluate(([id, m, ch]) => { window.swHarness.hold(id, m, ch) }, [c.contentId, c.manifest, chunks(c, [...c.manifest.hashes.keys()])] as const)
  }
  const setRole = async (p: Page, role: Role): Promise<void> => {
    await p.evaluate(r => { window.swHarness.setRole(r) }, role)
  }
  const takeRequests = async (p: Page): Promise<SwRequest[]> => await p.evaluate(() => window.swHarness.takeRequests())
  const openHarness = async (): Promise<Page> => {
    const p = await context.newPage()
    // statuses ≥ 400 are expected here, and the service worker's own lines are in swLog
    p.on('console', msg => {
      if (msg.type() === 'error' && !/^(Failed to load resource|pipbingo:sw )/.test(msg.text())) console.log(`[page] ${msg.text()}`)
    })
    await p.goto(`${relay.httpUrl()}/sw/test-harness/index.html`)
    await p.waitForFunction(() => window.swHarness != null)
    return p
  }
  const bytesOf = (result: FetchResult): Buffer => Buffer.from(result.body ?? '', 'hex')

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-sw-'))
    const webRoot = join(dir, 'web')
    await build({
      configFile: resolve('vite.config.ts'),
      logLevel: 'error',
      build: {
        outDir: webRoot,
        emptyOutDir: true,
        rolldownOptions: { input: { harness: resolve('web/sw/test-harness/index.html') } }
      }
    })
    const libraryDir = join(dir, 'library')
    await mkdir(libraryDir)
    await copyFile(resolve('library/sample.mp4'), join(libraryDir, 'sample.mp4'))
    relay = await createRelay(relayConfigSchema.parse({
      httpPort: 0, tcpPort: 0, wsPort: 0, libraryDir, dataDir: join(dir, 'data'), webRoot
    }))
    await relay.start()
    browser = await launchChromium()
    context = await browser.newContext()
    context.on('serviceworker', worker => { worker.on('console', msg => { swLog.push(msg.text()) }) })
    context.on('response', res => {
      if (!new URL(res.url()).pathname.startsWith('/stream/')) return
      streamed.push(`${res.request().headers().range ?? '-'} → ${res.status()} ${res.headers()['content-range'] ?? ''}${res.fromServiceWorker() ? '' : ' (not from the service worker!)'}`)
    })
    page = await openHarness()
    const scriptURL = await page.evaluate(async q => await window.swHarness.register(q), `?chunkTimeoutMs=${TIMEOUT_MS}&maxResponseBytes=${CAP}`)
    expect(new URL(scriptURL).pathname).toBe('/sw.js')

    content = await makeContent(3 * CHUNK + 1000, { seed: 7, name: 'ranges.mp4' })
    await seed(page, content, [0, 1, 2, 3])
    url = `/stream/p0/${content.contentId}`
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('the relay serves /sw.js as JavaScript, unhashed at the root, and it controls the page', async () => {
    const res = await fetch(`${relay.httpUrl()}/sw.js`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^(text|application)\/javascript/)
    expect(await res.text()).toMatch(/^import|addEventListener\(`fetch`/)
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toContain('/sw.js?')
  })

  describe('ranges, byte for byte', () => {
    const size = 3 * CHUNK + 1000
    const cases: Array<[string, string | undefined, number, number]> = [
      ['the first two bytes', 'bytes=0-1', 0, 1],
      ['a suffix', 'bytes=-700', size - 700, size - 1],
      ['a suffix across the last two chunks', 'bytes=-5000', size - 5000, size - 1],
      ['the last byte', `bytes=${size - 1}-`, size - 1, size - 1],
      ['a range spanning two chunks', `bytes=${CHUNK - 100}-${CHUNK + 99}`, CHUNK - 100, CHUNK + 99],
      ['an open range, cut at maxResponseBytes', 'bytes=100-', 100, 100 + CAP - 1],
      ['an end past the file, clamped', `bytes=${3 * CHUNK}-${size + 5000}`, 3 * CHUNK, size - 1]
    ]
    it.each(cases)('%s (%s) → 206', async (_name, range, start, end) => {
      const res = await streamFetch(page, url, { range })
      expect(res.status).toBe(206)
      expect(res.headers).toMatchObject({
        'content-range': `bytes ${start}-${end}/${size}`,
        'content-length': String(end - start + 1),
        'content-type': 'video/mp4',
        'accept-ranges': 'bytes'
      })
      expect(bytesOf(res).equals(content.bytes.subarray(start, end + 1))).toBe(true)
    })

    it('no Range (a download) → 200 with the whole file, past maxResponseBytes', async () => {
      const res = await streamFetch(page, url)
      expect(res.status).toBe(200)
      expect(res.headers['content-length']).toBe(String(size))
      expect(res.headers['content-range']).toBeUndefined()
      expect(res.headers['accept-ranges']).toBe('bytes')
      expect(bytesOf(res).equals(content.bytes)).toBe(true)
    })

    it('a range that does not parse is ignored → 200, the whole file', async () => {
      const res = await streamFetch(page, url, { range: 'bytes=9-3' })
      expect(res.status).toBe(200)
      expect(bytesOf(res).equals(content.bytes)).toBe(true)
    })

    it.each([`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0'])('%s → 416 with bytes */size', async range => {
      const res = await streamFetch(page, url, { range })
      expect(res.status).toBe(416)
      expect(res.headers['content-range']).toBe(`bytes */${size}`)
      expect(JSON.parse(bytesOf(res).toString())).toEqual({ error: expect.stringContaining('outside') })
    })

    it('HEAD → the headers of the answer, no body', async () => {
      const res = await streamFetch(page, url, { method: 'HEAD', range: 'bytes=0-9' })
      expect(res.status).toBe(206)
      expect(res.headers['content-range']).toBe(`bytes 0-9/${size}`)
      expect(res.body).toBe('')
    })

    it('all of that came from IndexedDB: the tab was never asked', async () => {
      expect(await takeRequests(page)).toEqual([])
    })
  })

  describe('paths under /stream/', () => {
    const id = 'ab'.repeat(32)
    const cases: Array<[string, number]> = [
      [`/stream/x1/${id}`, 400],
      [`/stream/p1234/${id}`, 400],
      ['/stream/p0/xyz', 400],
      [`/stream/p0/${id.toUpperCase()}`, 400],
      ['/stream/p0', 404],
      ['/stream/', 404],
      [`/stream/p0/${id}/more`, 404]
    ]
    it.each(cases)('%s → %i with a JSON error', async (path, status) => {
      const res = await streamFetch(page, path)
      expect(res.status).toBe(status)
      expect(JSON.parse(bytesOf(res).toString())).toEqual({ error: expect.any(String) })
    })

    it('an unknown content → the tab is asked for its manifest, has none → 404', async () => {
      const res = await streamFetch(page, `/stream/p0/${id}`, { range: 'bytes=0-1' })
      expect(res.status).toBe(404)
      expect(await takeRequests(page)).toEqual([{ tag: 'pipbingo/sw/1', type: 'manifest', profile: 'p0', contentId: id }])
    })

    it('POST → 405', async () => {
      expect((await streamFetch(page, url, { method: 'POST' })).status).toBe(405)
    })

    it('other paths go to the network untouched', async () => {
      const res = await streamFetch(page, '/list')
      expect(res.status).toBe(200)
      expect(JSON.parse(bytesOf(res).toString())).toEqual([expect.objectContaining({ filename: 'sample.mp4' })])
    })
  })

  describe('the round trip to the tab', () => {
    const base = (c: TestContent): { tag: string, profile: string, contentId: string } => ({ tag: 'pipbingo/sw/1', profile: 'p0', contentId: c.contentId })

    it('nothing in IndexedDB: the tab stores the manifest, then each chunk asked for, and the bytes are right', async () => {
      const other = await makeContent(2 * CHUNK + 10, { seed: 8 })
      await hold(page, other)
      const res = await streamFetch(page, `/stream/p0/${other.contentId}`, { range: `bytes=${CHUNK - 5}-${CHUNK + 4}` })
      expect(res.status).toBe(206)
      expect(bytesOf(res).equals(other.bytes.subarray(CHUNK - 5, CHUNK + 5))).toBe(true)
      expect(await takeRequests(page)).toEqual([
        { ...base(other), type: 'manifest' },
        { ...base(other), type: 'chunk', index: 0 },
        { ...base(other), type: 'chunk', index: 1 }
      ])
    })

    it('a chunk missing in the middle of a download: the tab is asked for that one only', async () => {
      const holey = await makeContent(3 * CHUNK + 10, { seed: 9 })
      await seed(page, holey, [0, 1, 3])
      await hold(page, holey)
      const res = await streamFetch(page, `/stream/p0/${holey.contentId}`)
      expect(res.status).toBe(200)
      expect(bytesOf(res).equals(holey.bytes)).toBe(true)
      expect(await takeRequests(page)).toEqual([{ ...base(holey), type: 'chunk', index: 2 }])
    })

    describe('a tab that never answers', () => {
      let silent: TestContent
      beforeAll(async () => {
        silent = await makeContent(2 * CHUNK, { seed: 10 })
        await seed(page, silent, [0])
        await setRole(page, { kind: 'silent' })
      })
      afterAll(async () => { await setRole(page, { kind: 'owner', profile: 'p0' }) })

      it('the first chunk of the range is missing → 504 once the timeout passes, not a hang', async () => {
        const res = await streamFetch(page, `/stream/p0/${silent.contentId}`, { range: `bytes=${CHUNK}-` })
        expect(res.status).toBe(504)
        expect(JSON.parse(bytesOf(res).toString()).error).toMatch(/did not answer within 1500 ms/)
        expect(swLog).toContainEqual(expect.stringMatching(/GET \/stream\/p0\/.*: 504 chunk 1 of .* did not answer within 1500 ms/))
        expect(res.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50)
        expect(res.ms).toBeLessThan(TIMEOUT_MS + 5000)
        expect(await takeRequests(page)).toEqual([{ ...base(silent), type: 'chunk', index: 1 }])
      })

      it('a later chunk is missing → the headers come, then the body fails once the timeout passes', async () => {
        const res = await streamFetch(page, `/stream/p0/${silent.contentId}`)
        expect(res.status).toBe(200)
        expect(res.bodyError).toMatch(/TypeError/)
        expect(swLog).toContainEqual(expect.stringMatching(/the stream fails at chunk 1: chunk 1 of .*\(p0\): the tab did not answer within 1500 ms/))
        expect(res.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50)
        expect(res.ms).toBeLessThan(TIMEOUT_MS + 5000)
        expect(await takeRequests(page)).toEqual([{ ...base(silent), type: 'chunk', index: 1 }])
      })
    })

    describe('when the requesting tab holds another profile', () => {
      let owner: Page
      let elsewhere: TestContent
      beforeAll(async () => {
        elsewhere = await makeContent(CHUNK + 10, { seed: 11 })
        await seed(page, elsewhere, [])
        owner = await openHarness()
        await hold(owner, elsewhere)
        await setRole(page, { kind: 'other' })
      })
      afterAll(async () => {
        await setRole(page, { kind: 'owner', profile: 'p0' })
        await owner.close()
      })

      it('its 421 sends the service worker to the other windows, and the owner answers', async () => {
        await setRole(owner, { kind: 'owner', profile: 'p0' })
        const res = await streamFetch(page, `/stream/p0/${elsewhere.contentId}`, { range: 'bytes=0-3' })
        expect(res.status).toBe(206)
        expect(bytesOf(res).equals(elsewhere.bytes.subarray(0, 4))).toBe(true)
        const asked = [{ ...base(elsewhere), type: 'chunk', index: 0 }]
        expect(await takeRequests(page)).toEqual(asked)
        expect(await takeRequests(owner)).toEqual(asked)
      })

      it('no window holds the profile → 503', async () => {
        await setRole(owner, { kind: 'owner', profile: 'p1' })
        const res = await streamFetch(page, `/stream/p0/${elsewhere.contentId}`, { range: `bytes=${CHUNK}-` })
        expect(res.status).toBe(503)
        expect(JSON.parse(bytesOf(res).toString()).error).toMatch(/no open tab holds profile p0/)
        expect(res.ms).toBeLessThan(TIMEOUT_MS) // everybody said 421: no need to wait for the timeout
        await takeRequests(page)
        await takeRequests(owner)
      })
    })
  })

  it('a <video> of the sample, fully in IndexedDB, plays on past a cut 206, and seeks', async () => {
    const id = await page.evaluate(async () => await window.swHarness.seedFromRelay('p0', 'sample.mp4'))
    streamed.length = 0
    const video = page.locator('#player')
    const state = await video.evaluate(async (v: HTMLVideoElement, src: string) => {
      const event = async (name: string): Promise<void> => await new Promise((resolve, reject) => {
        v.addEventListener(name, () => { resolve() }, { once: true })
        v.addEventListener('error', () => { reject(new Error(`media error ${v.error?.code}: ${v.error?.message}`)) }, { once: true })
      })
      const reach = async (t: number): Promise<void> => await new Promise(resolve => {
        const check = (): void => { if (v.currentTime > t) { v.removeEventListener('timeupdate', check); resolve() } }
        v.addEventListener('timeupdate', check)
      })
      const playing = event('playing')
      v.src = src
      await v.play()
      await playing
      // 512 KiB of this file is ~6 s: playing to 12 s needs the bytes after the first, cut, response
      v.playbackRate = 8
      await reach(12)
      const seeked = event('seeked')
      v.currentTime = 40 // the last few hundred KiB of the file
      await seeked
      await reach(40.5)
      return { duration: v.duration, width: v.videoWidth, error: v.error }
    }, `/stream/p0/${id}`)
    expect(state).toEqual({ duration: expect.closeTo(45, 0), width: 640, error: null })
    const size = 3799010
    expect(streamed[0]).toBe(`bytes=0- → 206 bytes 0-${CAP - 1}/${size}`)
    expect(streamed).toContain(`bytes=${CAP}- → 206 bytes ${CAP}-${2 * CAP - 1}/${size}`) // the browser asked again for the rest
    expect(streamed.every(line => line.includes('→ 206 bytes'))).toBe(true)
    expect(await takeRequests(page)).toEqual([]) // all from IndexedDB
  })
})
