import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { build } from 'vite'
import type { Browser } from 'playwright-core'
import { relayConfigSchema } from '../../relay/config'
import { createRelay, type Relay } from '../../relay/relay'
import { launchChromium, takeUncaughtPageErrors } from '../helpers/chromium'

/**
 * A fresh clone's promise: the relay serves the web app, and the sample
 * video in library/ plays in Chromium. Real relay, real build, real browser.
 */
describe('the relay serves the web app and the sample video plays in Chromium', () => {
  let dir: string
  let relay: Relay
  let browser: Browser

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-e2e-'))
    const webRoot = join(dir, 'web')
    await build({ configFile: resolve('vite.config.ts'), logLevel: 'warn', build: { outDir: webRoot, emptyOutDir: true } })
    // the repo's own sample, in a library of the test's (the relay writes its scan cache there)
    const libraryDir = join(dir, 'library')
    await mkdir(libraryDir)
    await copyFile(resolve('library/sample.mp4'), join(libraryDir, 'sample.mp4'))
    relay = await createRelay(relayConfigSchema.parse({
      httpPort: 0, tcpPort: 0, wsPort: 0, libraryDir, dataDir: join(dir, 'data'), webRoot
    }))
    await relay.start()
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('lists the sample and plays it: playing fires and currentTime advances', async () => {
    const page = await browser.newPage()
    await page.goto(relay.httpUrl())
    const sample = page.getByRole('link', { name: /sample/i })
    await sample.click()
    const video = page.locator('video')
    await video.evaluate(async (v: HTMLVideoElement) => {
      if (!v.paused && v.currentTime > 0) return
      await new Promise<void>((resolve, reject) => {
        v.addEventListener('playing', () => resolve(), { once: true })
        v.addEventListener('error', () => reject(new Error(`media error ${v.error?.code}: ${v.error?.message}`)), { once: true })
      })
    })
    const t0 = await video.evaluate((v: HTMLVideoElement) => v.currentTime)
    await video.evaluate(async (v: HTMLVideoElement, from: number) => {
      await new Promise<void>(resolve => {
        const check = (): void => { if (v.currentTime > from + 0.5) { v.removeEventListener('timeupdate', check); resolve() } }
        v.addEventListener('timeupdate', check)
      })
    }, t0)
    const state = await video.evaluate((v: HTMLVideoElement) => ({ width: v.videoWidth, height: v.videoHeight, duration: v.duration, error: v.error }))
    expect(state).toEqual({ width: 640, height: 360, duration: expect.closeTo(45, 0), error: null })
  })

  it('on a phone (390 px): the menu holds on one row, no keyboard help, a percentage never breaks (issue 13, row 12)', async () => {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true })).newPage()
    await page.goto(relay.httpUrl())
    const links = page.getByRole('navigation', { name: 'Main' }).getByRole('link')
    const tops = await links.evaluateAll(as => as.map(a => Math.round(a.getBoundingClientRect().top)))
    expect(tops.length).toBeGreaterThanOrEqual(5)
    expect(new Set(tops).size).toBe(1)
    await page.getByRole('link', { name: /sample/i }).click()
    await page.locator('video').waitFor()
    expect(await page.getByText(/^Keys:/).isVisible()).toBe(false)
    // the overlay's share: a number and its % on one line
    const share = page.getByTestId('share-from-peers')
    await expect.poll(async () => await share.textContent(), { timeout: 20_000 }).toMatch(/^\d+\u00a0%$/)
    await page.context().close()
  })

  it('leaving the player for the catalogue throws nothing (it threw reading currentTime of null)', async () => {
    const page = await browser.newPage()
    await page.goto(relay.httpUrl())
    await page.getByRole('link', { name: /sample/i }).click()
    const video = page.locator('video')
    await video.evaluate(async (v: HTMLVideoElement) => {
      if (v.readyState < 2) await new Promise(resolve => v.addEventListener('loadeddata', resolve, { once: true }))
      // the player empties the element when it goes: wait for that, after the navigation below
      ;(window as any).__emptied = new Promise(resolve => v.addEventListener('emptied', resolve, { once: true }))
    })
    await page.getByRole('link', { name: 'pipbingo home' }).click()
    await video.waitFor({ state: 'detached' })
    // the events a torn-down element still fires (emptied, then timeupdate) run before this resolves
    await page.evaluate(async () => { await (window as any).__emptied; await new Promise(resolve => setTimeout(resolve, 0)) })
    expect(takeUncaughtPageErrors()).toEqual([])
  })
})
