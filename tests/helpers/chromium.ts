import { accessSync, constants } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

export interface LaunchOptions {
  /** Run the browser inside this network namespace (tests/helpers/netns.ts): `ip netns exec <name>`. */
  netns?: { ip: string, name: string }
  /**
   * Plain-HTTP origins (`http://10.231.7.1:8080`) the browser treats as
   * secure contexts, so pages there get service workers, Web Locks and
   * crypto.subtle as they do on localhost.
   */
  secureOrigins?: string[]
  /**
   * Certificates the browser accepts although no CA it knows signed them,
   * by the base64 SHA-256 of their public key (tests/helpers/tls.ts
   * `spki`): `--ignore-certificate-errors-spki-list`, which takes effect
   * with a `--user-data-dir` (Playwright always gives one). Every other
   * certificate error stays an error.
   */
  trustSpki?: string[]
}

/** Headless Chromium with the flags this machine needs (no sandbox as root, no background networking). */
export async function launchChromium (options: LaunchOptions = {}): Promise<Browser> {
  const args = [
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
  if (options.secureOrigins != null && options.secureOrigins.length > 0) {
    args.push(`--unsafely-treat-insecure-origin-as-secure=${options.secureOrigins.join(',')}`)
  }
  if (options.trustSpki != null && options.trustSpki.length > 0) {
    args.push(`--ignore-certificate-errors-spki-list=${options.trustSpki.join(',')}`)
  }
  if (options.netns == null) {
    return watchPageErrors(await chromium.launch({ executablePath: findChromium(), headless: true, args }))
  }
  // Playwright talks to the browser over a pipe (fds 3 and 4), which
  // `ip netns exec` passes on; the script is only needed until the exec
  const dir = await mkdtemp(join(tmpdir(), 'pipbingo-chromium-'))
  try {
    const wrapper = join(dir, 'chromium')
    await writeFile(wrapper, `#!/bin/sh\nexec ${options.netns.ip} netns exec ${options.netns.name} ${findChromium()} "$@"\n`)
    await chmod(wrapper, 0o755)
    return watchPageErrors(await chromium.launch({ executablePath: wrapper, headless: true, args }))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Uncaught errors of every page of every browser this module launched, since the last take. */
const uncaught: string[] = []

/**
 * Every context of `browser` (`newContext`, and `newPage`'s own) reports
 * its pages' uncaught errors here; tests/helpers/page-errors.ts fails the
 * test that let one happen. A test that expects one takes it with
 * `takeUncaughtPageErrors()` first.
 */
function watchPageErrors (browser: Browser): Browser {
  const newContext = browser.newContext.bind(browser)
  browser.newContext = async (...args) => {
    const context = await newContext(...args)
    context.on('weberror', e => { uncaught.push(`${e.page()?.url() ?? 'a page'}: ${e.error().stack ?? e.error().message}`) })
    return context
  }
  return browser
}

/** The uncaught page errors since the last call (and forget them). */
export function takeUncaughtPageErrors (): string[] {
  return uncaught.splice(0)
}
