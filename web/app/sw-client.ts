import { SW_TAG, type SwReply, type SwRequest } from '../peer/sw-protocol'

/**
 * Register the service worker (scope `/`) and wait until it controls this
 * page, so `<video src="/stream/...">` goes through it. Resolves false where
 * service workers are unavailable (the page then plays from the origin).
 */
export async function registerServiceWorker (): Promise<boolean> {
  if (!('serviceWorker' in navigator)) return false
  await navigator.serviceWorker.register('/sw.js', { type: 'module', scope: '/' })
  await navigator.serviceWorker.ready
  if (navigator.serviceWorker.controller == null) {
    // first visit: the worker claims the page on activation
    await new Promise<void>(resolve => navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true }))
  }
  return true
}

/** Answer the service worker's requests (a chunk at top priority, a manifest) through `answer`. */
export function answerServiceWorker (answer: (request: SwRequest) => Promise<SwReply>): void {
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
    const request = event.data as SwRequest | undefined
    const port = event.ports[0]
    if (request?.tag !== SW_TAG || port == null) return
    answer(request).then(reply => { port.postMessage(reply) }, (err: Error) => {
      port.postMessage({ ok: false, status: 500, error: err.message } satisfies SwReply)
    })
  })
}
