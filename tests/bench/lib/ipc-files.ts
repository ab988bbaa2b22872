import { rm } from 'node:fs/promises'
import { sha256OfFile } from './files'
import type { BenchIpcClient, Line } from './ipc-client'
import { measure, type Measured } from './measure'

const TRANSFER_TIMEOUT_MS = 120_000
const EVENT_TIMEOUT_MS = 10_000

export interface FileToSend {
  /** Absolute path on the sender's machine (the bench's). */
  path: string
  size: number
  sha256: string
}

/**
 * Collects `file_received` / `file_failed` events of a subscribed IPC
 * client, so a transfer can be matched with its receiver's side.
 */
export class FileEvents {
  private readonly seen = new Map<string, Line>()
  private readonly waiters = new Map<string, (event: Line) => void>()

  constructor (client: BenchIpcClient) {
    client.onEvent(event => {
      if (event.event !== 'file_received' && event.event !== 'file_failed') return
      const id = String(event.data?.transfer_id)
      const waiter = this.waiters.get(id)
      if (waiter != null) { this.waiters.delete(id); waiter(event) } else this.seen.set(id, event)
    })
  }

  async take (transferId: string): Promise<Line> {
    const done = this.seen.get(transferId)
    if (done != null) { this.seen.delete(transferId); return done }
    let timer: NodeJS.Timeout | undefined
    try {
      return await new Promise<Line>((resolve, reject) => {
        this.waiters.set(transferId, resolve)
        timer = setTimeout(() => { this.waiters.delete(transferId); reject(new Error(`no file_received for ${transferId} within ${EVENT_TIMEOUT_MS} ms`)) }, EVENT_TIMEOUT_MS)
      })
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * `p2p send_file` of `file` to `peer` on the sender's IPC client `from`,
 * timed from the request to its reply (`File sent`: the receiver verified
 * the SHA-256 and stored the file). Outside the timing: the reply and the
 * receiver's `file_received` are checked (size, SHA-256, sealed or not),
 * the received copy is hashed from disk, then deleted.
 */
export async function timedSendFile (from: BenchIpcClient, received: FileEvents, options: { peer: string, file: FileToSend, chunkSize?: number, encrypted: boolean }): Promise<Measured<Line>> {
  const { file } = options
  const data = { peer: options.peer, file_path: file.path, ...(options.chunkSize != null ? { chunk_size: options.chunkSize } : {}) }
  const m = await measure(async () => await from.request({ command: 'p2p', action: 'send_file', data }, TRANSFER_TIMEOUT_MS))
  const reply = m.result
  if (reply.success !== true || reply.data?.size !== file.size || reply.data?.sha256 !== file.sha256 || reply.data?.encrypted !== options.encrypted) {
    throw new Error(`send_file answered ${JSON.stringify(reply).slice(0, 400)}`)
  }
  const event = await received.take(reply.data.transfer_id)
  if (event.event !== 'file_received' || event.data.size !== file.size || event.data.sha256 !== file.sha256 || event.data.encrypted !== options.encrypted || typeof event.data.path !== 'string') {
    throw new Error(`the receiver reported ${JSON.stringify(event).slice(0, 400)}`)
  }
  if (await sha256OfFile(event.data.path) !== file.sha256) throw new Error(`the received copy ${event.data.path} differs from the file sent`)
  await rm(event.data.path)
  return m
}
