/**
 * A page for tests/web/sw/sw.test.ts only: the test adds it to the build's
 * inputs (the production build never includes it) and drives it through
 * `window.swHarness` with `page.evaluate`.
 *
 * It plays the tab's part of web/peer/sw-protocol.ts without libp2p: IndexedDB
 * is written through the real IdbChunkStore (so the test follows whatever
 * schema the store has), and the "network" the tab would fetch a missing
 * chunk or manifest from is a map the test fills (`hold`). Every SwRequest
 * received is recorded, and the page can act as the owner of a profile, as
 * a tab holding another profile (answers 421), or as a tab that never answers.
 */
import { fromHex, toHex } from '@core/util/hex'
import type { Manifest } from '@core/content/manifest'
import { IdbChunkStore } from '../../peer/store/idb-store'
import { idbName, SW_TAG, type SwReply, type SwRequest } from '../../peer/sw-protocol'

export interface FetchResult {
  status: number
  headers: Record<string, string>
  /** The body in hex, or why reading it failed. */
  body?: string
  bodyError?: string
  /** From the fetch to the end of the body (or its failure). */
  ms: number
}

type Role = { kind: 'owner', profile: string } | { kind: 'other' } | { kind: 'silent' }

const held = new Map<string, { manifest: Manifest, chunks: Map<number, Uint8Array> }>()
const received: SwRequest[] = []
let role: Role = { kind: 'owner', profile: 'p0' }

async function withStore<T> (profile: string, body: (store: IdbChunkStore) => Promise<T>): Promise<T> {
  const store = await IdbChunkStore.open({ name: idbName(profile) })
  try {
    return await body(store)
  } finally {
    await store.close()
  }
}

async function answer (request: SwRequest): Promise<SwReply> {
  if (role.kind === 'other' || (role.kind === 'owner' && role.profile !== request.profile)) {
    return { ok: false, status: 421, error: 'this tab holds another profile' }
  }
  const content = held.get(request.contentId)
  if (content == null) return { ok: false, status: 404, error: 'no peer and no origin has this content' }
  return await withStore(request.profile, async store => {
    await store.putManifest(content.manifest)
    if (request.type === 'chunk') {
      const data = content.chunks.get(request.index)
      if (data == null) return { ok: false, status: 404, error: `chunk ${request.index} is nowhere` }
      await store.putChunk(request.contentId, request.index, data)
    }
    return { ok: true }
  })
}

navigator.serviceWorker.onmessage = (event: MessageEvent) => {
  const request = event.data as SwRequest | undefined
  const port = event.ports[0]
  if (request?.tag !== SW_TAG || port == null) return
  received.push(request)
  if (role.kind === 'silent') return
  answer(request).then(reply => { port.postMessage(reply) }, (err: Error) => {
    port.postMessage({ ok: false, status: 500, error: err.message } satisfies SwReply)
  })
}

const harness = {
  /** Register `/sw.js` + `query` and wait until it controls this page. */
  async register (query: string): Promise<string> {
    await navigator.serviceWorker.register(`/sw.js${query}`, { type: 'module', scope: '/' })
    await navigator.serviceWorker.ready
    if (navigator.serviceWorker.controller == null) {
      await new Promise(resolve => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }))
    }
    return navigator.serviceWorker.controller?.scriptURL ?? ''
  },

  /** Put a manifest and some chunks (hex) into a profile's IndexedDB. */
  async seed (profile: string, manifest: Manifest, chunks: Record<number, string>): Promise<string> {
    return await withStore(profile, async store => {
      const contentId = await store.putManifest(manifest)
      for (const [index, hex] of Object.entries(chunks)) await store.putChunk(contentId, Number(index), fromHex(hex))
      return contentId
    })
  },

  /** Seed a profile with a whole video of the relay's library (`/manifest/…`, `/videos/…`). */
  async seedFromRelay (profile: string, filename: string): Promise<string> {
    const { manifest } = await (await fetch(`/manifest/${encodeURIComponent(filename)}`)).json() as { manifest: Manifest }
    const bytes = new Uint8Array(await (await fetch(`/videos/${encodeURIComponent(filename)}`)).arrayBuffer())
    return await withStore(profile, async store => {
      const contentId = await store.putManifest(manifest)
      for (let i = 0; i < manifest.hashes.length; i++) {
        await store.putChunk(contentId, i, bytes.subarray(i * manifest.chunkSize, (i + 1) * manifest.chunkSize))
      }
      return contentId
    })
  },

  /** What "the network" has: what this tab can store when the service worker asks. */
  hold (contentId: string, manifest: Manifest, chunks: Record<number, string>): void {
    held.set(contentId, { manifest, chunks: new Map(Object.entries(chunks).map(([i, hex]) => [Number(i), fromHex(hex)])) })
  },

  setRole (next: Role): void {
    role = next
  },

  /** The requests received since the last call. */
  takeRequests (): SwRequest[] {
    return received.splice(0)
  },

  async fetch (url: string, init: { range?: string, method?: string } = {}): Promise<FetchResult> {
    const t0 = performance.now()
    const res = await fetch(url, { method: init.method ?? 'GET', headers: init.range == null ? {} : { Range: init.range } })
    const headers = Object.fromEntries(res.headers.entries())
    try {
      const body = toHex(new Uint8Array(await res.arrayBuffer()))
      return { status: res.status, headers, body, ms: performance.now() - t0 }
    } catch (err) {
      return { status: res.status, headers, bodyError: String(err), ms: performance.now() - t0 }
    }
  }
}

declare global {
  interface Window { swHarness: typeof harness }
}
window.swHarness = harness
