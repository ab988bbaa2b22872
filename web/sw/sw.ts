/// <reference lib="webworker" />
/**
 * The service worker (built to `/sw.js`, scope `/`, an ES module): answers
 * `/stream/<profile>/<contentId>` from the profile's IndexedDB, asking the
 * tab that holds the profile for what is missing (stream-response.ts,
 * ask-tab.ts). Every other request goes to the network untouched.
 *
 * Globals: the settings (from the script URL) and the open stores by
 * profile, a cache a restarted worker rebuilds. Nothing else.
 */
import type { ChunkStore } from '@core/store/types'
import { IdbChunkStore } from '../peer/store/idb-store'
import { idbName } from '../peer/sw-protocol'
import { askTab } from './ask-tab'
import { swConfig } from './config'
import { statusOf } from './errors'
import { isStreamPath, parseStreamPath } from './route'
import { errorResponse, streamResponse, type SwLog } from './stream-response'

declare const self: ServiceWorkerGlobalScope

const config = swConfig(self.location.search)

const log: SwLog = {
  error: message => { console.error(`pipbingo:sw ${message}`) },
  trace: message => { console.debug(`pipbingo:sw ${message}`) }
}

/** Open stores by profile. Only a cache: dropped when a store closes (the tab upgraded or deleted the database). */
const stores = new Map<string, Promise<ChunkStore>>()

function storeOf (profile: string): Promise<ChunkStore> {
  let store = stores.get(profile)
  if (store == null) {
    store = IdbChunkStore.open({ name: idbName(profile) })
    stores.set(profile, store)
    store.catch(() => { if (stores.get(profile) === store) stores.delete(profile) })
  }
  return store
}

self.addEventListener('install', event => {
  event.waitUntil(self.skipWaiting())
})

self.addEventListener('activate', event => {
  event.waitUntil(self.clients.claim())
})

self.addEventListener('fetch', event => {
  const url = new URL(event.request.url)
  if (url.origin !== self.location.origin || !isStreamPath(url.pathname)) return
  event.respondWith(answer(event, url.pathname))
})

async function answer (event: FetchEvent, pathname: string): Promise<Response> {
  const { request, clientId } = event
  try {
    const target = parseStreamPath(pathname)
    for (let attempt = 1; ; attempt++) {
      const store = await storeOf(target.profile)
      try {
        return await streamResponse(target, request, {
          store,
          log,
          maxResponseBytes: config.maxResponseBytes,
          // the worker stays up while the body streams (allowed: respondWith is still pending here)
          keepAlive: done => { event.waitUntil(done) },
          ask: async (message, options) => {
            await askTab(message, { clients: self.clients, clientId, timeoutMs: config.chunkTimeoutMs, signal: options?.signal })
          }
        })
      } catch (err) {
        // the database went away under us (another tab upgraded or deleted it): open it again, once
        if (!isClosed(err) || attempt > 1) throw err
        stores.delete(target.profile)
      }
    }
  } catch (err) {
    const status = statusOf(err)
    if (status >= 500) log.error(`${request.method} ${pathname}: ${status} ${(err as Error)?.message ?? String(err)}`)
    else log.trace(`${request.method} ${pathname}: ${status} ${(err as Error)?.message ?? String(err)}`)
    return errorResponse(err)
  }
}

function isClosed (err: unknown): boolean {
  const name = (err as Error | null)?.name
  return name === 'StoreClosedError' || name === 'InvalidStateError'
}
