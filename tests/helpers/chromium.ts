import { accessSync, constants } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable']

/**
 * The Chromium to drive: $PIPBINGO_CHROMIUM, else the usual system paths.
 * Playwright's own browser download is not used (this project runs where
 * it cannot download one): install Debian's `chromium` (`.ci/run` does).
 */
export function findChromium (): string {
  const fromEnv = process.env.PIPBINGO_CHROMIUM
  const paths = fromEnv != null && fromEnv !== '' ? [fromEnv] : CANDIDATES
  for (const path of paths) {
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {}
  }
  throw new Error(`No Chromium found (looked at ${paths.join(', ')}). Install it (Debian: apt-get install -y chromium) or set PIPBINGO_CHROMIUM to its path.`)
}

/** Headless Chromium with the flags this machine needs (no sandbox as root, no background networking). */
export async function launchChromium (): Promise<Browser> {
  return await chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-features=WebRtcHideLocalIpsWithMdns'
    ]
  })
}
