import { connect, type Socket } from 'node:net'
import { CliError } from './errors'
import { messages, type Lang } from '../messages'

export interface IpcEvent {
  event: string
  data: any
  meta?: any
}

/**
 * The daemon's IPC as the CLI uses it: requests with ids, replies matched
 * to them, events handed to listeners. Every failure is a CliError.
 */
export class IpcClient {
  private nextId = 1
  private buffer = ''
  private readonly pending = new Map<number, { resolve(data: unknown): void, reject(err: Error): void }>()
  private readonly listeners = new Set<(e: IpcEvent) => void>()
  readonly closed: Promise<void>

  private constructor (private readonly socket: Socket, private readonly lang: Lang) {
    socket.setEncoding('utf8')
    socket.on('data', (text: string) => { this.onData(text) })
    this.closed = new Promise(resolve => {
      socket.on('close', () => {
        for (const p of this.pending.values()) p.reject(new CliError(messages(this.lang).cli.ipcClosed))
        this.pending.clear()
        resolve()
      })
    })
    socket.on('error', () => {})
  }

  /** `host:port` (default 127.0.0.1:8889). */
  static async connect (address: string, signal?: AbortSignal, lang: Lang = 'en'): Promise<IpcClient> {
    const match = /^(?:(.+):)?(\d+)$/.exec(address)
    if (match == null) throw new CliError(messages(lang).cli.notIpcAddress(address), undefined, 2)
    const socket = connect({ host: match[1] ?? '127.0.0.1', port: Number(match[2]), signal })
    try {
      await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    } catch (err: any) {
      if (signal?.aborted === true) throw err
      throw new CliError(messages(lang).cli.ipcDown(address, String(err?.code ?? err?.message)))
    }
    return new IpcClient(socket, lang)
  }

  async request (command: string, action: string | null, data: unknown = null): Promise<any> {
    const id = this.nextId++
    return await new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.socket.write(`${JSON.stringify({ id, command, action, data })}\n`)
    })
  }

  onEvent (listener: (e: IpcEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  close (): void {
    // destroySoon: ends once written, then closes; a subscribed connection is never ended by the daemon,
    // and a half-open socket would keep this process alive after its last line (chat file never exited)
    this.socket.destroySoon()
  }

  private onData (text: string): void {
    this.buffer += text
    let nl: number
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl)
      this.buffer = this.buffer.slice(nl + 1)
      let value: any
      try { value = JSON.parse(line) } catch { continue }
      if (typeof value?.event === 'string') {
        for (const l of this.listeners) l(value as IpcEvent)
        continue
      }
      const waiting = this.pending.get(value?.id)
      if (waiting == null) continue
      this.pending.delete(value.id)
      if (value.success === true) waiting.resolve(value.data)
      else waiting.reject(new CliError(String(value.error ?? messages(this.lang).cli.refused)))
    }
  }
}
