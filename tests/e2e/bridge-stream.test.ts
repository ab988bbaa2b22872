import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { ContentId } from '@core/content/manifest'
import type { Relay } from '../../relay/relay'
import { postDownload, startBridge, type TestBridge } from '../helpers/bridge'
import { startWebRig, type WebRig } from '../helpers/web'

const NAME = 'sample.mp4'
/** Chunks of the video the origin gives at once: 1 MiB, about 12 s of the 45 s sample. */
const HEAD_CHUNKS = 4

/**
 * Holds the origin's chunks from index `from` on — over libp2p (the relay's
 * chunk server reads through `getChunk`, wrapped here) and over HTTP (the
 * bridge reaches the relay's HTTP side through `url`, a proxy that holds
 * `GET /videos/…` ranges starting in the held part) — until `release()`.
 * By index, not by count: which chunks a player gets first is then fixed,
 * whatever order the bridge's session happens to ask in.
 */
class OriginTailGate {
  readonly url: string
  /** Origin requests that had to wait here. */
  held = 0
  private released = false
  private readonly waiting: Array<() => void> = []

  private constructor (private readonly server: Server) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  static async start (relay: Relay, contentId: ContentId, from: number, chunkSize: number): Promise<OriginTailGate> {
    const target = new URL(relay.httpUrl())
    let gate!: OriginTailGate
    const server = createServer((req, res) => {
      const forward = (): void => {
        const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, up => {
          res.writeHead(up.statusCode ?? 502, up.headers)
          up.pipe(res)
        })
        upstream.on('error', () => { res.destroy() })
        req.pipe(upstream)
      }
      const start = Number(/^bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0)
      if (req.url?.startsWith(`/videos/${NAME}`) === true && start >= from * chunkSize) void gate.pass().then(forward)
      else forward()
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    gate = new OriginTailGate(server)
    const store = relay.library.store
    const getChunk = store.getChunk.bind(store)
    store.getChunk = async (id, index, options) => {
      if (id === contentId && index >= from) await gate.pass()
      return await getChunk(id, index, options)
    }
    return gate
  }

  release (): void {
    this.released = true
    for (const resolve of this.waiting.splice(0)) resolve()
  }

  async close (): Promise<void> {
    this.release()
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  private async pass (): Promise<void> {
    if (this.released) return
    this.held++
    await new Promise<void>(resolve => this.waiting.push(resolve))
  }
}

/**
 * Chromium's `<video>` plays the bridge's `GET /stream/<file>` while the
 * bridge is still downloading that file. Real relay, real bridge, real
 * Chromium: the player is a page served by the relay
 * (`http://127.0.0.1:<relay>/`), the stream is on the bridge's API
 * (`http://127.0.0.1:<bridge>/stream/sample.mp4`), so the media requests
 * are cross-origin, no-cors. The bridge's guards let them through: Chromium
 * sends no `Origin` on a no-cors media GET (checked below on the requests it
 * sent), and the `Host` is 127.0.0.1. (The app's service worker answers
 * only its own origin's `/stream/<profile>/<id>`: these go to the network,
 * and the bridge's `X-Pipbingo-Complete` header on the answers shows they
 * reached it.)
 *
 * To keep the download under way without a sleep, the origin (the only
 * source: no other peer holds the video) gives the first 4 of its 15 chunks
 * at once and holds the rest, over libp2p and HTTP alike, until the test
 * releases them. So when `playing` fires the bridge cannot have the whole
 * file, and the page asks the bridge's `/status` at that instant (a CORS
 * fetch from the page, allowed for 127.0.0.1 origins) to show it. Then the
 * origin lets the rest through and the video plays on past the 1 MiB it
 * started with, through bytes that reached the bridge after playback began,
 * on the same media response; at the end the stream's bytes are the file's.
 */
describe('<video> plays GET /stream of a file the bridge is still downloading', () => {
  let rig: WebRig
  let gate: OriginTailGate
  let bridge: TestBridge
  let sha: string

  beforeAll(async () => {
    rig = await startWebRig([`library/${NAME}`])
    sha = createHash('sha256').update(await readFile(`library/${NAME}`)).digest('hex')
    const entry = rig.relay.library.byFilename(NAME)!
    gate = await OriginTailGate.start(rig.relay, entry.contentId, HEAD_CHUNKS, entry.chunkSize)
    // the bridge reaches the relay through the gate; the page comes from the relay: its origin is allowed by flag
    bridge = await startBridge({ httpUrl: gate.url }, { allowOrigins: [new URL(rig.relay.httpUrl()).origin] })
  }, 120_000)

  afterAll(async () => {
    await bridge?.close().catch(() => {})
    await gate?.close()
    await rig?.close()
  })

  it('playing fires while /status says downloading; the video then plays through the bytes that arrive later', async () => {
    const entry = rig.relay.library.byFilename(NAME)!
    expect(entry.chunks).toBeGreaterThan(HEAD_CHUNKS * 3)
    expect((await postDownload(bridge.url, NAME)).body.status).toBe('started')

    const browser = await rig.newBrowser()
    const page: Page = await (await browser.newContext()).newPage()
    const media: Array<{ url: string, origin: string | undefined, range: string | undefined, status?: number, complete?: string | null }> = []
    page.on('request', request => {
      if (!request.url().startsWith(`${bridge.url}/stream/`)) return
      void request.allHeaders().then(h => { media.push({ url: request.url(), origin: h.origin, range: h.range }) })
    })
    page.on('response', response => {
      if (!response.url().startsWith(`${bridge.url}/stream/`)) return
      void response.allHeaders().then(h => {
        const seen = media.find(m => m.url === response.url() && m.status == null)
        if (seen != null) Object.assign(seen, { status: response.status(), complete: h['x-pipbingo-complete'] ?? null })
      })
    })
    await page.goto(`${rig.relay.httpUrl()}/`)

    const atPlaying = await page.evaluate(async ({ stream, status, name }) => {
      const v = document.createElement('video')
      v.id = 'bridge-player'
      v.muted = true
      v.src = stream
      document.body.append(v)
      await new Promise<void>((resolve, reject) => {
        v.addEventListener('playing', () => resolve(), { once: true })
        v.addEventListener('error', () => reject(new Error(`media error ${v.error?.code}: ${v.error?.message}`)), { once: true })
        v.play().catch(reject)
      })
      const entry = (await (await fetch(status)).json())[name]
      return { entry, currentTime: v.currentTime, buffered: v.buffered.length > 0 ? v.buffered.end(v.buffered.length - 1) : 0 }
    }, { stream: `${bridge.url}/stream/${NAME}`, status: `${bridge.url}/status`, name: NAME })
    console.log(`playing at ${atPlaying.currentTime.toFixed(2)} s, buffered to ${atPlaying.buffered.toFixed(2)} s; /status then: ${JSON.stringify(atPlaying.entry)}; origin requests held: ${gate.held}`)

    expect(atPlaying.entry.status).toBe('downloading')
    expect(atPlaying.entry.chunks_downloaded).toBeLessThanOrEqual(HEAD_CHUNKS)
    expect(atPlaying.entry.progress).toBeLessThan(100)
    expect(gate.held).toBeGreaterThan(0)
    // cross-origin media requests: no Origin header, so the CORS guard has nothing to refuse
    expect(media.length).toBeGreaterThan(0)
    expect(media.every(m => m.origin == null)).toBe(true)
    expect(media.filter(m => m.status != null).every(m => (m.status === 200 || m.status === 206) && m.complete === 'false')).toBe(true)

    // the rest of the file may come now; the player carries on past the bytes it started with
    gate.release()
    const headSeconds = (HEAD_CHUNKS * entry.chunkSize / entry.size) * (entry.duration ?? 45)
    await page.locator('#bridge-player').evaluate((v: HTMLVideoElement) => { v.playbackRate = 4 })
    await page.waitForFunction(({ past }) => {
      const v = document.getElementById('bridge-player') as HTMLVideoElement
      if (v.error != null) throw new Error(`media error ${v.error.code}: ${v.error.message}`)
      return v.currentTime > past
    }, { past: headSeconds + 3 }, { timeout: 30_000, polling: 100 })
    await bridge.waitFor(NAME, 'seeding')
    console.log(`media requests: ${JSON.stringify(media)}`)

    const body = new Uint8Array(await (await fetch(`${bridge.url}/stream/${NAME}`)).arrayBuffer())
    expect(createHash('sha256').update(body).digest('hex')).toBe(sha)
    expect(await page.locator('#bridge-player').evaluate((v: HTMLVideoElement) => v.error)).toBeNull()
  }, 120_000)
})
