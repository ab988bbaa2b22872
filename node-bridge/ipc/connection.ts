import type { Socket } from 'node:net'
import type { Logger } from '@libp2p/interface'
import type { ChatNotice, ChatNoticeName } from '../chat/events'
import type { RequestHandler } from './commands'
import { failure, toLine, type Reply } from './envelope'
import type { EventHub } from './hub'
import type { IpcLimits } from './limits'
import { LineSplitter, type LineEvent } from './line-splitter'
import { OrderedReplies } from './replies'

/** A browser's request line: the IPC port is no web server, and a page must not reach it (cross-protocol requests). */
const HTTP_REQUEST = /^[A-Z]{3,7} \S+ HTTP\/\d/

/**
 * One TCP client: lines in, replies out in order, notices when it
 * subscribed. At most `maxPending` requests run at once (a reply counts
 * until it is written); lines beyond wait, and reading pauses meanwhile;
 * a client that stops reading and lets `maxWriteBuffer` bytes pile up is
 * dropped; an idle one is closed after `idleTimeoutMs` with an error line.
 */
export class IpcConnection {
  private readonly splitter: LineSplitter
  private readonly replies: OrderedReplies
  private readonly controller = new AbortController()
  /** Lines read but not started: one read can hold thousands; at most `maxPending` run at once. */
  private backlog: LineEvent[] = []
  private unsubscribe?: () => void
  private first = true
  private ended = false

  constructor (private readonly socket: Socket, private readonly handle: RequestHandler, private readonly hub: EventHub, private readonly limits: IpcLimits, private readonly log: Logger) {
    this.splitter = new LineSplitter(limits.maxLineBytes)
    this.replies = new OrderedReplies(async reply => { await this.write(reply) }, () => { this.settled() })
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 10_000)
    socket.setTimeout(limits.idleTimeoutMs)
    socket.on('data', chunk => { this.onData(chunk) })
    socket.on('timeout', () => { this.onIdle() })
    socket.on('end', () => { this.ended = true; this.settled() })
    socket.on('error', err => { this.log('IPC client error: %s', err.message) })
    socket.on('close', () => { this.closed() })
  }

  get subscribed (): boolean {
    return this.unsubscribe != null
  }

  /** Close now (daemon stopping). */
  destroy (): void {
    this.socket.destroy()
  }

  private onData (chunk: Buffer): void {
    if (this.first) {
      this.first = false
      if (HTTP_REQUEST.test(chunk.subarray(0, 64).toString('latin1'))) {
        this.log('refused an HTTP request on the IPC port')
        this.socket.destroy()
        return
      }
    }
    this.backlog.push(...this.splitter.push(chunk))
    this.pump()
    // read no more until the backlog is worked off (and the client reads its replies: they count until written)
    if (this.backlog.length > 0) this.socket.pause()
  }

  private pump (): void {
    while (this.replies.pending < this.limits.maxPending && this.backlog.length > 0) {
      const event = this.backlog.shift() as LineEvent
      if ('line' in event) this.replies.push(this.handle(event.line, this.context))
      else if ('tooLong' in event) this.replies.push(Promise.resolve(failure(`Line too long: more than ${this.limits.maxLineBytes} bytes (files travel by file_path, not inline); skipped to the next newline`)))
      else this.replies.push(Promise.resolve(failure('Invalid JSON: the line is not UTF-8')))
    }
  }

  private readonly context = {
    signal: this.controller.signal,
    subscribe: (events?: readonly ChatNoticeName[]) => {
      this.unsubscribe?.()
      this.unsubscribe = this.hub.subscribe(notice => { this.notify(notice) }, events)
    },
    unsubscribe: () => {
      this.unsubscribe?.()
      this.unsubscribe = undefined
    }
  }

  private notify (notice: ChatNotice): void {
    if (this.socket.writableLength > this.limits.maxWriteBuffer) {
      this.log('dropping an IPC client that does not read its events')
      this.socket.destroy()
      return
    }
    this.socket.write(toLine(notice))
  }

  private async write (reply: Reply): Promise<void> {
    if (this.socket.destroyed || !this.socket.writable) return
    if (this.socket.writableLength > this.limits.maxWriteBuffer) {
      this.log('dropping an IPC client that does not read its replies')
      this.socket.destroy()
      return
    }
    if (!this.socket.write(toLine(reply))) {
      await new Promise<void>(resolve => {
        const done = (): void => { this.socket.off('drain', done); this.socket.off('close', done); resolve() }
        this.socket.on('drain', done)
        this.socket.on('close', done)
      })
    }
  }

  /** A reply went out: start what waits, read again once nothing does; close once a half-closed client has all its replies. */
  private settled (): void {
    this.pump()
    if (this.backlog.length === 0 && this.socket.isPaused() && !this.socket.destroyed) this.socket.resume()
    if (this.ended && this.backlog.length === 0 && this.replies.pending === 0 && !this.subscribed) this.socket.end()
  }

  private onIdle (): void {
    if (this.subscribed || this.replies.pending > 0 || this.backlog.length > 0) return // listening for events, or busy: not idle
    this.socket.end(toLine(failure(`Idle for ${this.limits.idleTimeoutMs / 1000} s: closing the connection`)))
    this.socket.destroySoon()
  }

  private closed (): void {
    this.controller.abort(new Error('The IPC client went away'))
    this.unsubscribe?.()
    this.unsubscribe = undefined
  }
}
