import type { ChatStream } from './chat-stream'
import { FrameType, type Body } from './codec'
import { FILE_ACK_EVERY_BYTES, FILE_IDLE_TIMEOUT_MS } from './constants'
import { ChatProtocolError, ChatRejectedError } from './errors'
import type { ChatEvent, FileReceiver, Hasher } from './types'
import { IdleSignal, toHexString } from './util'

export interface ReceiveFileInit {
  receiver: FileReceiver
  hasher: Hasher
  maxFileBytes: number
  /** Files need a direct connection (a relay's limits would cut them). */
  limited: boolean
  onEvent(event: ChatEvent): void
  idleTimeoutMs?: number
}

/**
 * The receiver's half: check the offer, let the FileReceiver open a
 * destination (it picks the name: the sender's is only a claim), take the
 * chunks in order, acknowledge every FILE_ACK_EVERY_BYTES, and at FILE_END
 * compare sizes and SHA-256 before the file is kept. On any failure the
 * partial file is removed and the sender gets an ERROR.
 */
export async function receiveFile (s: ChatStream, offer: Body<FrameType.FileOffer>, init: ReceiveFileInit): Promise<void> {
  const { id, name, size } = offer
  const base = { peer: s.peer, id, name }
  if (init.limited) throw new ChatRejectedError('Files need a direct connection, not a relayed one', 'limited_connection')
  if (size > init.maxFileBytes) throw new ChatRejectedError(`The file is too large (${size} bytes, at most ${init.maxFileBytes})`, 'too_large')
  const incoming = await init.receiver.open({ peer: s.peer, id, name, size, chunkSize: offer.chunk_size })
  const idle = new IdleSignal(init.idleTimeoutMs ?? FILE_IDLE_TIMEOUT_MS)
  const opts = { signal: idle.signal }
  try {
    await s.sendJson(FrameType.Ack, { id }, opts)
    let received = 0
    let acked = 0
    for (;;) {
      const frame = await s.receive(opts)
      idle.touch()
      if (frame.type === FrameType.FileChunk) {
        const n = frame.body.byteLength
        if (n === 0 || n > offer.chunk_size) throw new ChatProtocolError(`A chunk of ${n} bytes in a transfer of ${offer.chunk_size}-byte chunks`)
        if (received + n > size) throw new ChatProtocolError('More bytes than offered')
        await incoming.write(frame.body)
        init.hasher.update(frame.body)
        received += n
        if (received - acked >= FILE_ACK_EVERY_BYTES || received === size) {
          acked = received
          await s.sendJson(FrameType.FileProgress, { received }, opts)
          init.onEvent({ type: 'file-progress', direction: 'in', ...base, bytes: received, total: size })
        }
        continue
      }
      const end = s.parse(FrameType.FileEnd, frame)
      if (received !== size) throw new ChatRejectedError(`Only ${received} of ${size} bytes arrived`, 'incomplete')
      const sha256 = toHexString(init.hasher.digest())
      if (sha256 !== end.sha256) throw new ChatRejectedError('SHA-256 mismatch: the file was not kept', 'hash_mismatch')
      const saved = await incoming.finish()
      await s.sendJson(FrameType.Ack, { id }, opts)
      init.onEvent({ type: 'file-received', ...base, savedAs: saved.savedAs, path: saved.path, size, sha256, encrypted: s.sealed })
      return
    }
  } catch (err: any) {
    await incoming.abort().catch(() => {})
    init.onEvent({ type: 'file-failed', direction: 'in', ...base, error: err?.message ?? String(err) })
    throw err
  } finally {
    idle.clear()
  }
}
