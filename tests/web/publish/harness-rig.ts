import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'vite'
import type { Browser, Page } from 'playwright-core'
import { relayConfigSchema } from '../../../relay/config'
import { createRelay, type Relay } from '../../../relay/relay'
import { launchChromium } from '../../helpers/chromium'

export const HARNESS_PATH = '/app/publish/test-harness/index.html'

export interface PublishRig {
  dir: string
  relay: Relay
  browser: Browser
  /** A fresh context and page on the harness, `window.publishHarness` ready. */
  openHarness(): Promise<Page>
  close(): Promise<void>
}

/**
 * The publish hashing harness (web/app/publish/test-harness/), built by vite
 * with the project's config (so the worker is bundled the way the app's build
 * bundles it) but the harness as its only input, served by a real relay over
 * an empty library, opened in a real Chromium. Used by the tests here and by
 * the publish-hashing bench.
 */
export async function startPublishRig (options: { onConsoleError?: (text: string) => void } = {}): Promise<PublishRig> {
  const dir = await mkdtemp(join(tmpdir(), 'pipbingo-publish-'))
  let relay: Relay | undefined
  let browser: Browser | undefined
  try {
    const webRoot = join(dir, 'web')
    await build({
      configFile: resolve('vite.config.ts'),
      logLevel: 'error',
      build: { outDir: webRoot, emptyOutDir: true },
      plugins: [{
        // the harness alone: the app's own entries need not build for these tests
        name: 'pipbingo-publish-harness-only',
        config (config) {
          config.build!.rolldownOptions!.input = { publishHarness: resolve('web/app/publish/test-harness/index.html') }
        }
      }]
    })
    const libraryDir = join(dir, 'library')
    await mkdir(libraryDir)
    relay = await createRelay(relayConfigSchema.parse({ httpPort: 0, tcpPort: 0, wsPort: 0, libraryDir, dataDir: join(dir, 'data'), webRoot }))
    await relay.start()
    browser = await launchChromium()
  } catch (err) {
    await browser?.close().catch(() => {})
    await relay?.stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  const url = `${relay.httpUrl()}${HARNESS_PATH}`
  return {
    dir,
    relay,
    browser,
    async openHarness () {
      const context = await browser.newContext()
      const page = await context.newPage()
      page.on('console', msg => { if (msg.type() === 'error') options.onConsoleError?.(msg.text()) })
      page.on('pageerror', err => { options.onConsoleError?.(`uncaught: ${err.message}`) })
      await page.goto(url)
      await page.waitForFunction(() => window.publishHarness != null)
      return page
    },
    async close () {
      await browser.close().catch(() => {})
      await relay.stop().catch(() => {})
      await rm(dir, { recursive: true, force: true })
    }
  }
}
