import type { AbortOptions } from '../../util/abort'
import type { ChatStream } from './chat-stream'
import { FrameType } from './codec'
import { FILE_IDLE_TIMEOUT_MS, FILE_WINDOW_BYTES } from './constants'
import { ChatProtocolError } from './errors'
import type { Hasher, OutgoingFile } from './types'
import { IdleSignal, toHexString } from './util'

export interface SendFileOptions extends AbortOptions {
  id: string
  chunkSize: number
  hasher: Hasher
  /** Bytes the receiver has acknowledged so far. */
  onProgress?(bytes: number): void
  idleTimeoutMs?: number
}

/**
 * The sender's half of a file transfer: offer, wait for the ACK, stream the
 * chunks with at most FILE_WINDOW_BYTES unacknowledged (the receiver's
 * FILE_PROGRESS frames open the window), then FILE_END with the SHA-256 of
 * what was sent, and wait for the receiver's verdict.
 */
export async function sendFile (s: ChatStream, file: OutgoingFile, options: SendFileOptions): Promise<{ sha256: string }> {
  const idle = new IdleSignal(options.idleTimeoutMs ?? FILE_IDLE_TIMEOUT_MS, options)
  const opts = { signal: idle.signal }
  try {
    await s.sendJson(FrameType.FileOffer, { id: options.id, name: file.name, size: file.size, chunk_size: options.chunkSize }, opts)
    const accept = await s.expect(FrameType.Ack, opts)
    if (accept.id !== options.id) throw new ChatProtocolError('The peer accepted another transfer')
    idle.touch()

    let acked = 0
    let finished = false
    let wake: (() => void) | undefined
    const reader = (async (): Promise<void> => {
      for (;;) {
        const frame = await s.receive(opts)
        idle.touch()
        if (frame.type === FrameType.FileProgress) {
          const { received } = s.parse(FrameType.FileProgress, frame)
          if (received < acked || received > file.size) throw new ChatProtocolError('The peer acknowledged bytes it cannot have')
          acked = received
          options.onProgress?.(acked)
          wake?.()
          continue
        }
        const done = s.parse(FrameType.Ack, frame)
        if (done.id !== options.id) throw new ChatProtocolError('The peer confirmed another transfer')
        finished = true
        wake?.()
        return
      }
    })()
    // the reader may fail while the writer is busy: keep the rejection for whoever awaits next
    reader.catch(() => { wake?.() })

    let sent = 0
    for await (const chunk of file.chunks(options.chunkSize, opts)) {
      while (sent - acked >= FILE_WINDOW_BYTES) {
        await Promise.race([new Promise<void>(resolve => { wake = resolve }), reader])
        if (finished) throw new ChatProtocolError('The peer confirmed the file before it was sent')
      }
      sent += chunk.byteLength
      if (sent > file.size) break
      options.hasher.update(chunk)
      await s.send(FrameType.FileChunk, chunk, opts)
    }
    if (sent !== file.size) throw new Error(`The file changed while it was being sent (${sent} bytes read, ${file.size} offered)`)
    const sha256 = toHexString(options.hasher.digest())
    await s.sendJson(FrameType.FileEnd, { sha256 }, opts)
    await reader
    return { sha256 }
  } finally {
    idle.clear()
  }
}
