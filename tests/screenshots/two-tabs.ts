/**
 * Screenshots of two tabs watching the sample, each with its P2P overlay:
 * docs/screenshots/two-tabs-a.png (tab A, which fetched the video from the
 * origin), two-tabs-b.png (tab B, another browser process, which got it
 * from A over WebRTC) and two-tabs.png (both side by side).
 *
 *     npx tsx tests/screenshots/two-tabs.ts
 *
 * A real relay over a temporary library, the web app built by vite, Debian's
 * Chromium (tests/helpers/chromium.ts), a desktop viewport (1280×800; the
 * shots are of the whole page, so the overlay under the video is in). Fails
 * (exit code 1) if the tabs do not get there: B must have 80 % of its bytes
 * from A (a fresh B is tried up to 3 times, since the WebRTC connection now
 * and then does not come), both must play, and both overlays must show
 * numbers.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { waitForHolders } from '../bench/lib/browser-swarm'
import { newTab, openTab, tabStats, waitComplete, type Tab } from '../bench/lib/browser-tabs'
import { startWebRig, type WebRig } from '../helpers/web'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const outDir = join(repoRoot, 'docs', 'screenshots')
const VIEWPORT = { width: 1280, height: 800 }
const TIMEOUT_MS = 30_000
/** Seconds of playback both tabs show before the shot. */
const PLAYED_S = 3

function log (message: string): void {
  process.stderr.write(`[two-tabs] ${message}\n`)
}

/** Playing, past PLAYED_S, and the overlay (redrawn every 500 ms) showing `expect` in its stats. */
async function waitShowing (page: Page, expect: { label: string, pattern: string }): Promise<void> {
  await page.waitForFunction(({ played, label, pattern }) => {
    const v = document.querySelector('video')
    if (v == null || v.paused || v.currentTime < played) return false
    const dts = [...document.querySelectorAll('#stats dt')]
    const dd = dts.find(dt => dt.textContent === label)?.nextElementSibling
    return dd != null && new RegExp(pattern).test(dd.textContent ?? '')
  }, { played: PLAYED_S, ...expect }, { timeout: TIMEOUT_MS, polling: 100 })
}

async function shoot (tab: Tab, path: string): Promise<Buffer> {
  // a frame in the middle of a repaint would be a poor picture: hold still for the shot
  await tab.page.locator('video').evaluate((v: HTMLVideoElement) => { v.pause() })
  await tab.page.waitForTimeout(600) // one more redraw of the overlay (every 500 ms), with the video paused
  const png = await tab.page.screenshot({ path, fullPage: true, animations: 'disabled' })
  log(`${path}: ${(png.byteLength / 1024).toFixed(0)} KiB`)
  return png
}

/** Both shots side by side, composed by the browser itself: a page of two images, screenshotted. */
async function sideBySide (browser: Browser, a: Buffer, b: Buffer, path: string): Promise<void> {
  const tab = await newTab(browser, { viewport: { width: 1600, height: 600 } })
  try {
    const img = (png: Buffer, caption: string): string =>
      `<figure><img src="data:image/png;base64,${png.toString('base64')}" alt=""><figcaption>${caption}</figcaption></figure>`
    await tab.page.setContent(`<!doctype html>
<style>
  body { margin: 0; padding: 16px; background: #0b0d10; color: #e6e9ee; font: 15px/1.4 system-ui, sans-serif; display: flex; gap: 16px; align-items: flex-start; }
  figure { margin: 0; flex: 1; }
  img { width: 100%; display: block; border: 1px solid #2a3039; border-radius: 6px; }
  figcaption { margin-top: 6px; color: #8b95a5; }
</style>
${img(a, 'Tab A (browser process 1): fetched the video from the origin, now seeding it')}
${img(b, 'Tab B (browser process 2): got it from tab A over WebRTC')}`)
    await tab.page.waitForFunction(() => [...document.images].every(i => i.complete && i.naturalWidth > 0))
    const png = await tab.page.screenshot({ path, fullPage: true })
    log(`${path}: ${(png.byteLength / 1024).toFixed(0)} KiB`)
  } finally {
    await tab.close()
  }
}

async function main (): Promise<void> {
  // the rig builds with the repository's vite.config.ts, relative to the working directory
  process.chdir(repoRoot)
  await mkdir(outDir, { recursive: true })
  let rig: WebRig | undefined
  try {
    rig = await startWebRig(['library/sample.mp4'])
    const entry = rig.relay.library.byFilename('sample.mp4')
    if (entry == null) throw new Error('the relay did not list sample.mp4')
    const url = `${rig.relay.httpUrl()}/?play=sample.mp4`
    const [browserA, browserB] = [await rig.newBrowser(), await rig.newBrowser()]

    const a = await openTab(browserA, url, { viewport: VIEWPORT })
    await waitComplete(a.page, entry.contentId, TIMEOUT_MS)
    log('tab A holds the sample')
    const idA = (await tabStats(a.page)).peerId as string
    let b: Tab | undefined
    for (let attempt = 1; b == null; attempt++) {
      const tab = await openTab(browserB, url, { viewport: VIEWPORT })
      const statsB = await waitComplete(tab.page, entry.contentId, TIMEOUT_MS)
      const fromA = (statsB.bySource[idA] ?? 0) / entry.size
      log(`tab B holds it too: ${(fromA * 100).toFixed(1)} % from tab A`)
      if (fromA >= 0.8) {
        b = tab
        break
      }
      // now and then the WebRTC connection to A does not come and B plays from the origin: not the picture this is meant to be
      await tab.close()
      if (attempt >= 3) throw new Error(`in ${attempt} attempts tab B never got 80 % of the video from tab A`)
      await waitForHolders(rig.relay, entry.contentId, [idA])
      log('trying again with a fresh tab B')
    }

    await waitShowing(a.page, { label: '↑ uploaded', pattern: '^[1-9]' })
    await waitShowing(b.page, { label: 'share', pattern: '% from peers' })
    const pngA = await shoot(a, join(outDir, 'two-tabs-a.png'))
    const pngB = await shoot(b, join(outDir, 'two-tabs-b.png'))
    await sideBySide(browserA, pngA, pngB, join(outDir, 'two-tabs.png'))
    await writeFile(join(outDir, 'README.md'), `# Screenshots

Made by \`npx tsx tests/screenshots/two-tabs.ts\` (a real relay, the built web app, Debian's
Chromium, two browser processes, a 1280×800 viewport); every run replaces them.

- \`two-tabs-a.png\`: tab A played \`sample.mp4\` first, so every chunk came from the origin
  (orange: its libp2p node, red: HTTP in the chunk map), and it has since uploaded to B.
- \`two-tabs-b.png\`: tab B, in another browser process, played it next and got it from
  tab A over a direct WebRTC connection (green chunks in the map; a red one is a chunk its
  player needed before it had found A, fetched from the origin over HTTP).
- \`two-tabs.png\`: the two side by side.
`)
  } finally {
    await rig?.close()
  }
}

main().then(() => { process.exit(0) }, (err: any) => {
  log(`failed: ${err?.stack ?? err}`)
  process.exit(1)
})
