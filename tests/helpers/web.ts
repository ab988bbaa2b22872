import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { build } from 'vite'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { relayConfigSchema } from '../../relay/config'
import { createRelay, type Relay } from '../../relay/relay'
import { launchChromium } from './chromium'
import { createTestNetwork, type TestNetwork } from './netns'
import type { TestCa } from './tls'

export interface WebRig {
  dir: string
  webRoot: string
  relay: Relay
  /** Start (again) a relay on the same folders and ports. */
  restartRelay(): Promise<Relay>
  browsers: Browser[]
  /** With `netns: true`: the private network the relay and the browsers are on. */
  network?: TestNetwork
  newBrowser(): Promise<Browser>
  close(): Promise<void>
  metric(name: string): Promise<number>
}

export interface WebRigOptions {
  /**
   * Each browser in its own network namespace (tests/helpers/netns.ts, root
   * only), the relay on the namespaces' bridge: for browsers that talk
   * WebRTC to each other. Chromium gathers no loopback candidates, so
   * without this their WebRTC would run over the machine's own network
   * address. Pages then load the relay from the bridge's address over plain
   * HTTP, which the browsers are told to treat as a secure context. A page
   * in a namespace reaches nothing on this machine's 127.0.0.1.
   */
  netns?: boolean
  /**
   * Serve HTTPS and WSS with a certificate this CA issues for the relay's
   * address (an IP subjectAltName); browsers trust it by its SPKI hash,
   * and pages are secure contexts without the insecure-origin flag.
   */
  tls?: TestCa
  /**
   * More relay configuration (relayConfigSchema's keys: `peerRelays`, ICE
   * servers…), given the address the relay listens on and the test network
   * (where a test may start a server of its own first, such as a TURN
   * server in a namespace).
   */
  relay?: (host: string, network: TestNetwork | undefined) => Record<string, unknown> | Promise<Record<string, unknown>>
}

/**
 * Everything a browser test needs, real: the web app built by vite, a relay
 * over a temporary library holding `videos` (paths), and Chromium processes.
 */
export async function startWebRig (videos: string[], options: WebRigOptions = {}): Promise<WebRig> {
  const network = options.netns === true ? await createTestNetwork() : undefined
  try {
    return await startRig(videos, network, options.tls, options.relay)
  } catch (err) {
    await network?.close()
    throw err
  }
}

async function startRig (videos: string[], network: TestNetwork | undefined, ca: TestCa | undefined, extra: WebRigOptions['relay']): Promise<WebRig> {
  const dir = await mkdtemp(join(tmpdir(), 'pipbingo-web-'))
  const webRoot = join(dir, 'web')
  await buildWebApp(webRoot)
  const libraryDir = join(dir, 'library')
  await mkdir(libraryDir)
  for (const v of videos) await copyFile(resolve(v), join(libraryDir, basename(v)))
  const host = network?.hostAddress ?? '127.0.0.1'
  const leaf = await ca?.issue({ ips: [host] })
  if (leaf != null) {
    await writeFile(join(dir, 'cert.pem'), leaf.cert)
    await writeFile(join(dir, 'key.pem'), leaf.key)
  }
  const tls = leaf != null ? { tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'key.pem') } : {}
  const config = relayConfigSchema.parse({ host, httpPort: 0, tcpPort: 0, wsPort: 0, libraryDir, dataDir: join(dir, 'data'), webRoot, ...tls, ...await extra?.(host, network) })
  let relay = await createRelay(config)
  await relay.start()
  // the same ports after a restart, so pages find the relay where it was
  const ports = {
    httpPort: Number(new URL(relay.httpUrl()).port),
    tcpPort: Number(relay.multiaddrs().find(a => !a.toString().includes('/ws'))?.getComponents().find(c => c.name === 'tcp')?.value),
    wsPort: Number(relay.multiaddrs().find(a => a.toString().includes('/ws'))?.getComponents().find(c => c.name === 'tcp')?.value)
  }
  const browsers: Browser[] = []
  const rig: WebRig = {
    dir,
    webRoot,
    get relay () { return relay },
    async restartRelay () {
      await relay.stop().catch(() => {})
      relay = await createRelay({ ...config, ...ports })
      await relay.start()
      return relay
    },
    browsers,
    network,
    async newBrowser () {
      let b: Browser
      if (network == null) {
        b = await launchChromium(leaf != null ? { trustSpki: [leaf.spki] } : {})
      } else {
        const ns = await network.addNamespace()
        b = await launchChromium(leaf != null
          ? { netns: { ip: network.ip, name: ns.name }, trustSpki: [leaf.spki] }
          : { netns: { ip: network.ip, name: ns.name }, secureOrigins: [`http://${host}:${ports.httpPort}`] })
      }
      browsers.push(b)
      return b
    },
    async close () {
      await Promise.allSettled(browsers.map(async b => { await b.close() }))
      await relay.stop().catch(() => {})
      await network?.close()
      await rm(dir, { recursive: true, force: true })
    },
    async metric (name: string) {
      const text = await (await fetch(`${relay.httpUrl()}/metrics`)).text()
      const line = text.split('\n').find(l => l.startsWith(`${name} `))
      if (line == null) throw new Error(`metric ${name} not found`)
      return Number(line.split(' ')[1])
    }
  }
  return rig
}

/** The web app as vite builds it, into `outDir` (a relay's `--web-root`). */
export async function buildWebApp (outDir: string): Promise<void> {
  await build({ configFile: resolve('vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } })
}

/**
 * Open the app in a fresh context and wait until its peer is up (or has
 * fallen back). `beforeLoad` prepares the context first (init scripts).
 */
export async function openApp (browser: Browser, url: string, options: { beforeLoad?: (context: BrowserContext) => Promise<void> } = {}): Promise<Page> {
  const context = await browser.newContext()
  await options.beforeLoad?.(context)
  // PIPBINGO_PAGE_DEBUG=<debug pattern> (e.g. 'libp2p:webrtc*'): the page's debug lines, to find why something was slow
  const debug = process.env.PIPBINGO_PAGE_DEBUG
  if (debug != null && debug !== '') await context.addInitScript((pattern) => { localStorage.setItem('debug', pattern) }, debug)
  const page = await context.newPage()
  page.on('console', msg => { if (msg.type() === 'error' || (debug != null && debug !== '')) console.error(`[page] ${msg.text()}${msg.location().url !== '' ? ` (${msg.location().url})` : ''}`) })
  await page.goto(url)
  await page.evaluate(async (ms) => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`the app was not ready after ${ms} ms: service worker ${navigator.serviceWorker?.controller != null ? 'controls the page' : 'does not control the page'}, peer ${window.pipbingo.stats() != null ? 'up' : 'not up'}`))
      }, ms)
    })
    try {
      await Promise.race([window.pipbingo.ready, late])
    } finally {
      clearTimeout(timer)
    }
  }, READY_WITHIN_MS)
  return page
}

/** How long `openApp` and `waitPlaying` wait before they fail with what they saw (inside the tests' own timeouts of 60–120 s). */
const READY_WITHIN_MS = 45_000
const PLAYING_WITHIN_MS = 45_000

/** Wait for the page's `<video>` to fire `playing` (rejects on a media error). */
export async function waitPlaying (page: Page, withinMs = PLAYING_WITHIN_MS): Promise<void> {
  await page.locator('video').evaluate(async (v: HTMLVideoElement, ms: number) => {
    if (!v.paused && v.readyState >= 3) return
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        v.addEventListener('playing', () => resolve(), { once: true })
        v.addEventListener('error', () => reject(new Error(`media error ${v.error?.code}: ${v.error?.message}`)), { once: true })
        timer = setTimeout(() => {
          const stats = window.pipbingo.stats() as { relay?: unknown, bytesFromOrigin?: number, bytesFromPeers?: number } | undefined
          reject(new Error(`not playing after ${ms} ms: <video> ${v.currentSrc} readyState ${v.readyState} networkState ${v.networkState} paused ${v.paused}; tab relay ${JSON.stringify(stats?.relay)}, ${stats?.bytesFromOrigin} B from the origin, ${stats?.bytesFromPeers} B from peers`))
        }, ms)
      })
    } finally {
      clearTimeout(timer)
    }
  }, withinMs)
}

/** The page's stats (window.pipbingo.stats()). */
export async function statsOf (page: Page): Promise<any> {
  return await page.evaluate(() => window.pipbingo.stats())
}
