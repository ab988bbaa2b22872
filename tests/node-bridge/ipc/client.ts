import { connect, type Socket } from 'node:net'

export interface Line { [key: string]: any }

/**
 * A test client of the IPC: writes lines, reads replies (in order) and
 * events (`{ event, ... }`) apart. Every wait takes a deadline; none sleeps.
 */
export class TestIpcClient {
  readonly replies: Line[] = []
  readonly events: Line[] = []
  readonly raw: string[] = []
  closed = false
  private buffer = ''
  private waiters: Array<() => void> = []

  private constructor (readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (text: string) => {
      this.buffer += text
      let nl: number
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl)
        this.buffer = this.buffer.slice(nl + 1)
        this.raw.push(line)
        const value = JSON.parse(line) as Line
        if ('event' in value) this.events.push(value)
        else this.replies.push(value)
      }
      this.wake()
    })
    socket.on('close', () => { this.closed = true; this.wake() })
    socket.on('error', () => {})
  }

  static async connect (port: number): Promise<TestIpcClient> {
    const socket = connect({ host: '127.0.0.1', port })
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    return new TestIpcClient(socket)
  }

  send (value: unknown): void {
    this.socket.write(typeof value === 'string' ? value : `${JSON.stringify(value)}\n`)
  }

  /** Send one request and resolve with its reply (the next reply not yet taken). */
  async request (value: unknown, timeoutMs = 30_000): Promise<Line> {
    const index = this.taken++
    this.send(value)
    await this.until(() => this.replies.length > index, timeoutMs, `a reply to ${JSON.stringify(value).slice(0, 200)}`)
    return this.replies[index] as Line
  }

  /** The next reply not yet taken. */
  async reply (timeoutMs = 30_000): Promise<Line> {
    const index = this.taken++
    await this.until(() => this.replies.length > index, timeoutMs, 'a reply')
    return this.replies[index] as Line
  }

  private taken = 0

  async event (predicate: (e: Line) => boolean, timeoutMs = 30_000): Promise<Line> {
    let found: Line | undefined
    await this.until(() => (found = this.events.find(predicate)) != null, timeoutMs, 'an event')
    return found as Line
  }

  async waitClosed (timeoutMs = 30_000): Promise<void> {
    await this.until(() => this.closed, timeoutMs, 'the server to close the connection')
  }

  async until (ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!ready()) {
      if (this.closed && !ready()) throw new Error(`connection closed while waiting for ${what}; lines: ${this.raw.join('\n').slice(0, 2000)}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}; lines: ${this.raw.join('\n').slice(0, 2000)}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  close (): void {
    this.socket.destroy()
  }

  private wake (): void {
    for (const w of this.waiters.splice(0)) w()
  }
}
