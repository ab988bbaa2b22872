import type { Socket } from 'node:net'
import type { Logger } from '@libp2p/interface'
import type { ChatNotice, ChatNoticeName } from '../chat/events'
import type { RequestHandler } from './commands'
import { failure, toLine, type Reply } from './envelope'
import type { EventHub } from './hub'
import type { IpcLimits } from './limits'
import { LineSplitter, type LineEvent } from './line-splitter'
import { OrderedReplies } from './replies'

/**
 * The IPC port is no web server, and a page must not reach it (a no-cors
 * `POST` whose body holds IPC lines is a cross-protocol request). A
 * connection's first line is held until it is whole (or `FIRST_LINE_MAX`
 * bytes came with no newline) and refused if it, or anything held, looks
 * like HTTP: a request line however long its target, an HTTP version at a
 * line's end, or a header a browser always sends.
 */
const HTTP_REQUEST_LINE = /^[A-Z]{3,10} \S+ HTTP\/\d/
const HTTP_ANYWHERE = /(?: HTTP\/\d(?:\.\d)?\r?\n|\r?\n(?:host|origin|user-agent|content-type|sec-fetch-\w+): )/i
/** Enough for any first request of the contract; a client sends its first newline before this. */
export const FIRST_LINE_MAX = 64 * 1024

export function looksLikeHttp (firstBytes: string): boolean {
  return HTTP_REQUEST_LINE.test(firstBytes.trimStart()) || HTTP_ANYWHERE.test(firstBytes)
}

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
  private lastActive = Date.now()
  /** Closes a connection that never sends a whole line (see limits.firstLineTimeoutMs). */
  private silence?: ReturnType<typeof setTimeout>
  /** The first bytes, until the first line is whole (see looksLikeHttp). */
  private held: Buffer[] = []
  private heldBytes = 0
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
    this.silence = setTimeout(() => { this.onSilent() }, limits.firstLineTimeoutMs)
    this.silence.unref()
  }

  /** Nothing under way, not subscribed: a client whose slot may go to a new one when all are taken. */
  get idle (): boolean {
    return !this.subscribed && this.replies.pending === 0 && this.backlog.length === 0
  }

  /** When this client last sent a line or got a reply. */
  get lastActivity (): number {
    return this.lastActive
  }

  /** All slots are taken and this client is the longest idle: it makes room. */
  evict (): void {
    this.log('closing an idle IPC client to make room for a new one')
    this.socket.end(toLine(failure('Closing this idle connection: every slot is taken and a new client needs one')))
    this.socket.destroySoon()
  }

  get subscribed (): boolean {
    return this.unsubscribe != null
  }

  /** Close now (daemon stopping). */
  destroy (): void {
    this.socket.destroy()
  }

  private onData (data: Buffer): void {
    let chunk = data
    if (this.first) {
      // hold the bytes until the first line is whole, then judge them all
      this.held.push(data)
      this.heldBytes += data.length
      if (data.indexOf(0x0a) === -1 && this.heldBytes < FIRST_LINE_MAX) return
      this.first = false
      chunk = Buffer.concat(this.held)
      this.held = []
      if (looksLikeHttp(chunk.toString('latin1'))) {
        this.log('refused an HTTP request on the IPC port')
        this.socket.destroy()
        return
      }
    }
    const events = this.splitter.push(chunk)
    if (events.length > 0) {
      clearTimeout(this.silence)
      this.lastActive = Date.now()
    }
    this.backlog.push(...events)
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
    this.lastActive = Date.now()
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

  private onSilent (): void {
    if (this.socket.destroyed) return
    this.log('closing an IPC client that sent no request')
    this.socket.end(toLine(failure(`No request within ${this.limits.firstLineTimeoutMs / 1000} s: closing the connection`)))
    this.socket.destroySoon()
  }

  private onIdle (): void {
    if (this.subscribed || this.replies.pending > 0 || this.backlog.length > 0) return // listening for events, or busy: not idle
    this.socket.end(toLine(failure(`Idle for ${this.limits.idleTimeoutMs / 1000} s: closing the connection`)))
    this.socket.destroySoon()
  }

  private closed (): void {
    clearTimeout(this.silence)
    this.controller.abort(new Error('The IPC client went away'))
    this.unsubscribe?.()
    this.unsubscribe = undefined
  }
}
