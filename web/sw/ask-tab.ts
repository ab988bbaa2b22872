import { z } from 'zod'
import { anySignal } from '@core/util/abort'
import type { SwReply, SwRequest } from '../peer/sw-protocol'
import { NoTabError, TabRefusedError, TabTimeoutError } from './errors'

/** What a tab that does not hold the profile answers (HTTP's Misdirected Request). */
export const NOT_THE_OWNER = 421

/** The part of a service worker's `Client` used here (a `WindowClient` is one). */
export interface TabClient {
  readonly id: string
  readonly type: string
  postMessage(message: unknown, transfer: Transferable[]): void
}

/** The part of `self.clients` used here. */
export interface TabClients {
  get(id: string): Promise<TabClient | undefined>
  matchAll(options: { type: 'window', includeUncontrolled: boolean }): Promise<readonly TabClient[]>
}

export interface AskTabOptions {
  clients: TabClients
  /** `FetchEvent.clientId`: the page that made the request ('' for none). */
  clientId: string
  /** For the whole round trip, fallbacks included. */
  timeoutMs: number
  /** Aborts the wait (the body stream was cancelled); its reason is thrown. */
  signal?: AbortSignal
}

const replySchema = z.union([
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.string().max(2000), status: z.number().int() })
])

/**
 * Ask the tab that holds `request.profile` to do `request`, and wait until it
 * says it is done (`{ ok: true }`).
 *
 * Who is asked: the window that made the fetch (`clientId`), when it is one;
 * if it is not a window (a worker, no client) or answers 421 (it holds
 * another profile), every other window of the origin at once, and the first
 * `{ ok: true }` wins. Each is sent the request with a MessagePort of its
 * own for the reply.
 *
 * Throws TabRefusedError (the owner answered `{ ok: false }`, with its
 * status), NoTabError (no window, or all answered 421), TabTimeoutError
 * (nobody said ok within `timeoutMs`), or the signal's reason.
 */
export async function askTab (request: SwRequest, options: AskTabOptions): Promise<void> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = anySignal(options.signal, timeout)
  try {
    const own = options.clientId === '' ? undefined : await options.clients.get(options.clientId)
    if (own?.type === 'window') {
      const reply = await post(own, request, signal)
      if (reply.ok) return
      if (reply.status !== NOT_THE_OWNER) throw refusal(reply, request)
    }
    signal.throwIfAborted()
    const others = (await options.clients.matchAll({ type: 'window', includeUncontrolled: true }))
      .filter(client => client.id !== own?.id)
    await askAll(others, request, signal)
  } catch (err) {
    if (options.signal?.aborted === true) throw options.signal.reason
    if (timeout.aborted) throw new TabTimeoutError(`${describe(request)}: the tab did not answer within ${options.timeoutMs} ms`)
    throw err
  }
}

/** Resolve on the first `{ ok: true }`; reject on the first refusal that is not a 421, or when all have answered 421. */
async function askAll (clients: readonly TabClient[], request: SwRequest, signal: AbortSignal): Promise<void> {
  if (clients.length === 0) throw new NoTabError(`${describe(request)}: no open tab holds profile ${request.profile}`)
  const settled = new AbortController()
  const each = anySignal(signal, settled.signal)
  try {
    await new Promise<void>((resolve, reject) => {
      let left = clients.length
      let failure: unknown
      for (const client of clients) {
        post(client, request, each).then(reply => {
          if (reply.ok) resolve()
          else if (reply.status !== NOT_THE_OWNER) reject(refusal(reply, request))
        }, (err: unknown) => {
          failure ??= err
        }).finally(() => {
          if (--left > 0) return
          reject(failure ?? new NoTabError(`${describe(request)}: no open tab holds profile ${request.profile}`))
        })
      }
    })
  } finally {
    settled.abort() // close the ports still waiting
  }
}

/** One round trip: post with a fresh MessageChannel, wait for one reply on it. */
async function post (client: TabClient, request: SwRequest, signal: AbortSignal): Promise<SwReply> {
  signal.throwIfAborted()
  return await new Promise<SwReply>((resolve, reject) => {
    const { port1, port2 } = new MessageChannel()
    const finish = (): void => {
      signal.removeEventListener('abort', onAbort)
      port1.onmessage = null
      port1.onmessageerror = null
      port1.close()
    }
    const onAbort = (): void => {
      finish()
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    port1.onmessage = (event: MessageEvent) => {
      finish()
      resolve(parseReply(event.data))
    }
    port1.onmessageerror = () => {
      finish()
      resolve(parseReply(undefined))
    }
    try {
      client.postMessage(request, [port2])
    } catch (err) {
      finish()
      reject(err)
    }
  })
}

/** A reply that is not an SwReply counts as "not the owner": some other page of the origin, or an old version. */
function parseReply (data: unknown): SwReply {
  const result = replySchema.safeParse(data)
  return result.success ? result.data : { ok: false, error: 'not a pipbingo reply', status: NOT_THE_OWNER }
}

function refusal (reply: Extract<SwReply, { ok: false }>, request: SwRequest): TabRefusedError {
  return new TabRefusedError(reply.status, `${describe(request)}: the tab could not get it (${reply.status}): ${reply.error}`)
}

export function describe (request: SwRequest): string {
  const id = `${request.contentId.slice(0, 12)}…`
  return request.type === 'chunk' ? `chunk ${request.index} of ${id} (${request.profile})` : `the manifest of ${id} (${request.profile})`
}
