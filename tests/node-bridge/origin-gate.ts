import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import type { ContentId } from '@core/content/manifest'
import { spawnBridge, type ChildBridge } from '../helpers/bridge'
import { makeContent, type TestContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'

/**
 * Holds the origin's chunks back until a test lets them through, so a
 * download stays under way exactly as long as a test needs, with no sleep:
 * the relay's libp2p chunk server reads through `getChunk` (wrapped here),
 * and its HTTP fallback is reached through a proxy (`url`) that holds
 * `/videos/<name>` requests the same way.
 *
 * Each content has a budget of chunks that may pass (Infinity: open);
 * `allow(id, n)` adds n, `open(id)` lets everything through.
 */
export class OriginGate {
  readonly url: string
  private readonly budgets = new Map<ContentId, number>()
  private readonly waiting = new Map<ContentId, Array<() => void>>()
  /** Chunks (libp2p) and ranges (HTTP) that passed, per content. */
  readonly passed = new Map<ContentId, number>()

  private constructor (private readonly relay: TestRelay, private readonly server: Server) {
    const { port } = server.address() as AddressInfo
    this.url = `http://127.0.0.1:${port}`
  }

  /** Gate every content of `relay` (closed: budget 0) unless `open` lists it. */
  static async start (relay: TestRelay): Promise<OriginGate> {
    const target = new URL(relay.relay.httpUrl())
    let gate!: OriginGate
    const server = createServer((req, res) => {
      const name = /^\/videos\/([^/?]+)/.exec(req.url ?? '')?.[1]
      const entry = name == null ? undefined : relay.relay.library.byFilename(decodeURIComponent(name))
      const forward = (): void => {
        const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, up => {
          res.writeHead(up.statusCode ?? 502, up.headers)
          up.pipe(res)
        })
        upstream.on('error', () => { res.destroy() })
        req.pipe(upstream)
      }
      if (entry == null) forward()
      else void gate.pass(entry.contentId).then(forward)
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    gate = new OriginGate(relay, server)
    const store = relay.relay.library.store
    const getChunk = store.getChunk.bind(store)
    store.getChunk = async (contentId, index, options) => {
      await gate.pass(contentId)
      return await getChunk(contentId, index, options)
    }
    return gate
  }

  /** Let `n` more chunks of `contentId` through. */
  allow (contentId: ContentId, n: number): void {
    this.budgets.set(contentId, (this.budgets.get(contentId) ?? 0) + n)
    this.wake(contentId)
  }

  open (contentId: ContentId): void {
    this.allow(contentId, Infinity)
  }

  /** Let no more chunks of `contentId` through, until `allow` or `open`. */
  shut (contentId: ContentId): void {
    this.budgets.set(contentId, 0)
  }

  async close (): Promise<void> {
    for (const id of this.waiting.keys()) this.open(id)
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  private async pass (contentId: ContentId): Promise<void> {
    while ((this.budgets.get(contentId) ?? 0) <= 0) {
      await new Promise<void>(resolve => {
        const list = this.waiting.get(contentId) ?? []
        list.push(resolve)
        this.waiting.set(contentId, list)
      })
    }
    this.budgets.set(contentId, (this.budgets.get(contentId) as number) - 1)
    this.passed.set(contentId, (this.passed.get(contentId) ?? 0) + 1)
  }

  private wake (contentId: ContentId): void {
    const list = this.waiting.get(contentId) ?? []
    this.waiting.delete(contentId)
    for (const resolve of list) resolve()
  }
}

/** What `gatedRelay` sets up, filled in by its beforeAll. */
export interface GatedRig {
  /** The one video of the relay's library. */
  content: TestContent
  relay: TestRelay
  gate: OriginGate
  /** The spawned bridges' folder: `cache/` and `data/` in it. */
  dir: string
  /** A bridge as `npm run bridge` runs it, in `lang`, on `dir`, fetching through the gate; stopped in afterAll. */
  spawn(lang: string): Promise<ChildBridge>
}

/**
 * For the tests of one describe block: a relay whose library holds one
 * video (`size` bytes, made from `seed`) behind an OriginGate, and a fresh
 * folder for bridges spawned on it. Made in beforeAll; the bridges, the
 * gate, the relay and the folder go in afterAll.
 */
export function gatedRelay (name: string, size: number, seed: number): GatedRig {
  const children: ChildBridge[] = []
  const rig = {
    async spawn (lang: string) {
      const child = await spawnBridge(['--lang', lang, '--relay-http', rig.gate.url, '--cache', join(rig.dir, 'cache'), '--data-dir', join(rig.dir, 'data')])
      children.push(child)
      return child
    }
  } as GatedRig
  beforeAll(async () => {
    rig.content = await makeContent(size, { seed, name })
    rig.relay = await startRelay([{ name, bytes: rig.content.bytes }])
    rig.gate = await OriginGate.start(rig.relay)
    rig.dir = await mkdtemp(join(tmpdir(), 'pipbingo-gated-'))
  })
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode == null && c.child.signalCode == null) { c.child.kill('SIGTERM'); await c.exited }
    await rig.gate?.close()
    await rig.relay?.close()
    if (rig.dir != null) await rm(rig.dir, { recursive: true, force: true })
  })
  return rig
}
