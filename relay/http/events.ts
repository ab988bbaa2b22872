import type { RequestHandler, Response } from 'express'
import type { ListEntry } from '../catalogue'
import { ServiceUnavailableError } from './errors'

export interface CatalogueEventsInit {
  /** What is sent (`list`) and when (`onChange`, returning its unsubscribe function). */
  catalogue: { list(): ListEntry[], onChange(listener: () => void): () => void }
  /** Streams open at once (503 past it); default 256. */
  maxClients?: number
  /** A `: ping` comment this often, so proxies keep the stream open; default 15 s. */
  pingIntervalMs?: number
  /** At most one event per this many ms; default 250. */
  throttleMs?: number
  /** A client that has this much unsent is dropped (it reconnects and gets a fresh catalogue); default 8 MiB. */
  maxBufferedBytes?: number
}

export const SSE_MAX_CLIENTS = 256
export const SSE_PING_INTERVAL_MS = 15_000
export const SSE_THROTTLE_MS = 250
const RETRY_MS = 3000

/**
 * `GET /events`: Server-Sent Events. On connect, `event: catalogue` with the
 * same JSON array as `GET /list`; again whenever the catalogue changes, at
 * most once per `throttleMs` (changes in between are merged into the next
 * one); a `: ping` comment every `pingIntervalMs`. `close()` ends every
 * stream, so a server closing after it does not wait on them.
 */
export class CatalogueEvents {
  readonly handler: RequestHandler
  private readonly clients = new Set<Response>()
  private readonly maxClients: number
  private readonly pingIntervalMs: number
  private readonly throttleMs: number
  private readonly maxBuffered: number
  private readonly unsubscribe: () => void
  private lastSent = -Infinity
  private pending?: ReturnType<typeof setTimeout>
  private pinger?: ReturnType<typeof setInterval>
  private closed = false

  constructor (private readonly init: CatalogueEventsInit) {
    this.maxClients = init.maxClients ?? SSE_MAX_CLIENTS
    this.pingIntervalMs = init.pingIntervalMs ?? SSE_PING_INTERVAL_MS
    this.throttleMs = init.throttleMs ?? SSE_THROTTLE_MS
    this.maxBuffered = init.maxBufferedBytes ?? 8 * 1024 * 1024
    this.unsubscribe = init.catalogue.onChange(() => { this.schedule() })
    this.handler = (req, res) => {
      if (this.closed) throw new ServiceUnavailableError('The relay is shutting down')
      if (this.clients.size >= this.maxClients) {
        res.setHeader('Retry-After', '30')
        throw new ServiceUnavailableError(`Too many live catalogue streams (${this.maxClients}): try again later, or poll GET /list`)
      }
      res.status(200)
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8')
      res.setHeader('Cache-Control', 'no-cache')
      res.setHeader('X-Accel-Buffering', 'no')
      if (req.method === 'HEAD') {
        res.end()
        return
      }
      req.socket.setTimeout(0)
      req.socket.setNoDelay(true)
      this.clients.add(res)
      res.once('close', () => { this.drop(res) })
      res.flushHeaders()
      this.send(res, `retry: ${RETRY_MS}\n\n${this.frame()}`)
      this.pinger ??= setInterval(() => { this.broadcast(': ping\n\n') }, this.pingIntervalMs)
    }
  }

  /** Streams open now. */
  get size (): number {
    return this.clients.size
  }

  /** End every stream and refuse new ones. */
  close (): void {
    this.closed = true
    this.unsubscribe()
    clearTimeout(this.pending)
    clearInterval(this.pinger)
    this.pending = undefined
    this.pinger = undefined
    for (const res of [...this.clients]) res.end()
    this.clients.clear()
  }

  /** A change: send it now if the last event is old enough, else once it is. */
  private schedule (): void {
    if (this.closed || this.clients.size === 0 || this.pending != null) return
    const wait = Math.max(0, this.lastSent + this.throttleMs - performance.now())
    // never from inside the caller (a tracker operation): on the next turn at the earliest
    this.pending = setTimeout(() => {
      this.pending = undefined
      this.lastSent = performance.now()
      if (this.clients.size > 0) this.broadcast(this.frame())
    }, wait)
  }

  private frame (): string {
    return `event: catalogue\ndata: ${JSON.stringify(this.init.catalogue.list())}\n\n`
  }

  private broadcast (text: string): void {
    for (const res of [...this.clients]) this.send(res, text)
  }

  private send (res: Response, text: string): void {
    if (res.writableLength > this.maxBuffered) {
      res.destroy() // too far behind
      this.drop(res)
      return
    }
    res.write(text)
  }

  private drop (res: Response): void {
    this.clients.delete(res)
    if (this.clients.size === 0) {
      clearInterval(this.pinger)
      this.pinger = undefined
    }
  }
}
