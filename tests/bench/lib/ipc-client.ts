import { connect, type Socket } from 'node:net'

export interface Line { [key: string]: any }

const CONNECT_TIMEOUT_MS = 10_000

/**
 * A JSON-lines client as a desktop client of the IPC would be: one TCP
 * connection, requests written as lines, replies taken in order (the
 * server answers in request order), events (`{ event, ... }`) handed to a
 * listener as they arrive, each line parsed. Also drives the request-rate
 * measurement (`drive`). Every wait has a deadline.
 */
export class BenchIpcClient {
  private buffer = ''
  private readonly waiting: Array<{ resolve: (line: Line) => void, reject: (err: Error) => void }> = []
  private readonly eventListeners = new Set<(line: Line, at: number) => void>()
  private closedError?: Error

  private constructor (private readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.setNoDelay(true)
    socket.on('data', (text: string) => { this.onData(text) })
    socket.on('error', err => { this.fail(err) })
    socket.on('close', () => { this.fail(new Error('the IPC connection closed')) })
  }

  static async connect (port: number): Promise<BenchIpcClient> {
    const socket = connect({ host: '127.0.0.1', port })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no connection to 127.0.0.1:${port} within ${CONNECT_TIMEOUT_MS} ms`)) }, CONNECT_TIMEOUT_MS)
      socket.once('connect', () => { clearTimeout(timer); resolve() })
      socket.once('error', err => { clearTimeout(timer); reject(err) })
    })
    return new BenchIpcClient(socket)
  }

  /** Events, with the `performance.now()` at which their line was read. Returns the unsubscribe. */
  onEvent (listener: (line: Line, at: number) => void): () => void {
    this.eventListeners.add(listener)
    return () => { this.eventListeners.delete(listener) }
  }

  /** Send one request; resolves with its reply (requests of one client are answered in order). */
  async request (value: unknown, timeoutMs = 30_000): Promise<Line> {
    if (this.closedError != null) throw this.closedError
    const reply = new Promise<Line>((resolve, reject) => { this.waiting.push({ resolve, reject }) })
    this.socket.write(`${JSON.stringify(value)}\n`)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`no reply within ${timeoutMs} ms to ${JSON.stringify(value).slice(0, 200)}`)) }, timeoutMs)
    })
    try {
      return await Promise.race([reply, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Keep `inFlight` copies of `line` outstanding until `deadlineAt`
   * (performance.now()), sending one more for each reply (the new lines of
   * one read go out in one write), then wait for the last replies. Every
   * reply must satisfy `ok`. Resolves with the number of replies.
   */
  async drive (line: string, inFlight: number, deadlineAt: number, ok: (reply: Line) => boolean, timeoutMs = 30_000): Promise<number> {
    if (this.waiting.length > 0) throw new Error('drive() on a client with requests under way')
    return await new Promise<number>((resolve, reject) => {
      let replies = 0
      let outstanding = inFlight
      const timer = setTimeout(() => { finish(new Error(`the replies did not come within ${timeoutMs} ms (${replies} so far)`)) }, timeoutMs)
      const finish = (err?: Error): void => {
        clearTimeout(timer)
        this.lineHandler = undefined
        this.afterRead = undefined
        this.failHandler = undefined
        if (err != null) reject(err)
        else resolve(replies)
      }
      let more = ''
      this.lineHandler = (reply) => {
        if (!ok(reply)) { finish(new Error(`unexpected reply: ${JSON.stringify(reply).slice(0, 300)}`)); return false }
        replies++
        outstanding--
        if (performance.now() < deadlineAt) { more += line; outstanding++ }
        return true
      }
      this.afterRead = () => {
        if (more !== '') { this.socket.write(more); more = '' }
        if (outstanding === 0) finish()
      }
      this.failHandler = finish
      this.socket.write(line.repeat(inFlight))
    })
  }

  close (): void {
    this.socket.destroy()
  }

  private lineHandler?: (reply: Line) => boolean
  private afterRead?: () => void
  private failHandler?: (err: Error) => void

  private onData (text: string): void {
    const at = performance.now()
    this.buffer += text
    let start = 0
    let nl: number
    while ((nl = this.buffer.indexOf('\n', start)) >= 0) {
      const value = JSON.parse(this.buffer.slice(start, nl)) as Line
      start = nl + 1
      if ('event' in value && !('success' in value)) {
        for (const listener of this.eventListeners) listener(value, at)
      } else if (this.lineHandler != null) {
        if (!this.lineHandler(value)) return
      } else {
        const waiter = this.waiting.shift()
        if (waiter == null) { this.fail(new Error(`a reply nobody asked for: ${JSON.stringify(value).slice(0, 300)}`)); return }
        waiter.resolve(value)
      }
    }
    this.buffer = this.buffer.slice(start)
    this.afterRead?.()
  }

  private fail (err: Error): void {
    this.closedError ??= err
    for (const w of this.waiting.splice(0)) w.reject(err)
    this.failHandler?.(err)
  }
}
