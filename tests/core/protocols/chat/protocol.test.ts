import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { lpStream } from '@libp2p/utils'
import { PROTOCOL, type ChatEvent } from '@core/protocols/chat'
import { ChatStream } from '@core/protocols/chat/chat-stream'
import { decodeFrame, decodeJson, encodeFrame, encodeHeader, encodeJson, FLAG_SEALED, FrameType } from '@core/protocols/chat/codec'
import { FILE_WINDOW_BYTES } from '@core/protocols/chat/constants'
import { chatNode, type TestChatNode } from './helpers'

const nodes: TestChatNode[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => await n.node.stop())) })

async function pair (): Promise<[TestChatNode, TestChatNode]> {
  const a = await chatNode('Alice')
  const b = await chatNode('Bob')
  nodes.push(a, b)
  await a.node.dial(b.node.getMultiaddrs())
  // each greets the other once identify shows the protocol
  await a.next(e => e.type === 'hello' && e.name === 'Bob')
  await b.next(e => e.type === 'hello' && e.name === 'Alice')
  return [a, b]
}

const messages = (n: TestChatNode): Array<Extract<ChatEvent, { type: 'message' }>> => n.events.filter((e): e is Extract<ChatEvent, { type: 'message' }> => e.type === 'message')
const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const text = (frame: Uint8Array): string => Buffer.from(frame).toString('latin1')

/** A raw stream from `from` to `to`, frames written and read by the test. */
async function raw (from: TestChatNode, to: TestChatNode): Promise<{ write(type: FrameType, body: Uint8Array, flags?: number, seq?: number): Promise<void>, read(): Promise<{ type: FrameType, body: Uint8Array }> }> {
  const lp = lpStream(await from.node.dialProtocol(to.node.peerId, PROTOCOL))
  let seq = 0
  return {
    write: async (type, body, flags = 0, at = seq++) => { await lp.write(encodeFrame(encodeHeader(type, flags, at), body)) },
    read: async () => { const f = decodeFrame((await lp.read()).subarray()); return { type: f.type, body: f.body } }
  }
}

describe('/pipbingo/chat/1.0.0 between two real libp2p nodes', () => {
  it('greets on connection: names and KEM keys both ways', async () => {
    const [a, b] = await pair()
    const seenByA = await a.next(e => e.type === 'hello') as Extract<ChatEvent, { type: 'hello' }>
    expect(seenByA.peer).toBe(b.node.peerId.toString())
    expect(seenByA.publicKey).toEqual(b.keys.publicKey())
  })

  it('delivers messages once, in order, acknowledged', async () => {
    const [a, b] = await pair()
    const sent = await Promise.all(Array.from({ length: 25 }, async (_, i) => await a.node.services.chat.sendMessage(b.node.peerId, `message ${i}`)))
    expect(sent.every(s => !s.encrypted)).toBe(true)
    expect(messages(b).map(m => m.text)).toEqual(Array.from({ length: 25 }, (_, i) => `message ${i}`))
    expect(messages(b).map(m => m.id)).toEqual(sent.map(s => s.id))

    // the same id again (a retry whose ACK was lost): acknowledged, not delivered twice
    const s = await raw(a, b)
    await s.write(FrameType.Message, encodeJson({ id: sent[3]!.id, text: 'message 3', sent_at: new Date().toISOString() }))
    expect(await s.read()).toMatchObject({ type: FrameType.Ack })
    expect(messages(b)).toHaveLength(25)

    // a sender's own retry: sendMessage with the id the message first had (a tab's Retry does this)
    expect(await a.node.services.chat.sendMessage(b.node.peerId, 'message 7', { id: sent[7]!.id })).toMatchObject({ id: sent[7]!.id })
    expect(messages(b)).toHaveLength(25)
    await expect(a.node.services.chat.sendMessage(b.node.peerId, 'x', { id: 'not-hex' })).rejects.toThrow('A message id is 32 hex digits')
  })

  it('after key negotiation every frame but hello/keys/error is sealed, and no plaintext crosses', async () => {
    const [a, b] = await pair()
    const { fingerprint } = await a.node.services.chat.negotiateKeys(b.node.peerId)
    expect(b.keys.session(a.node.peerId.toString())?.fingerprint).toBe(fingerprint)
    expect(await b.next(e => e.type === 'keys')).toMatchObject({ initiator: false, fingerprint })
    a.frames.length = 0

    const secret = 'attack at dawn, bring the 🔑'
    expect(await a.node.services.chat.sendMessage(b.node.peerId, secret)).toMatchObject({ encrypted: true })
    expect(messages(b).at(-1)).toMatchObject({ text: secret, encrypted: true })
    const out = a.frames.filter(f => f.direction === 'out')
    expect(out.length).toBeGreaterThan(0)
    for (const f of out) {
      expect(f.frame[1]! & FLAG_SEALED).toBe(FLAG_SEALED)
      expect(text(f.frame)).not.toContain('attack')
      expect(text(f.frame)).not.toContain(Buffer.from(secret).toString('latin1'))
    }
    // the answer is sealed too
    expect(a.frames.filter(f => f.direction === 'in').every(f => (f.frame[1]! & FLAG_SEALED) !== 0)).toBe(true)
  })

  it('rejects a sealed frame with a flipped byte, a clear frame after negotiation, and a frame out of sequence', async () => {
    const [a, b] = await pair()
    await a.node.services.chat.negotiateKeys(b.node.peerId)
    const ciphers = a.keys.session(b.node.peerId.toString())!
    const body = encodeJson({ id: 'cd'.repeat(16), text: 'tampered', sent_at: new Date().toISOString() })

    const header = encodeHeader(FrameType.Message, FLAG_SEALED, 0)
    const sealed = await ciphers.outbound.seal(body, header)
    sealed[20]! ^= 0x01
    let s = await raw(a, b)
    await s.write(FrameType.Message, sealed, FLAG_SEALED)
    let answer = await s.read()
    expect(answer.type).toBe(FrameType.Error)
    expect(decodeJson(FrameType.Error, answer.body)).toMatchObject({ code: 'auth_failed' })

    s = await raw(a, b)
    await s.write(FrameType.Message, body)
    answer = await s.read()
    expect(decodeJson(FrameType.Error, answer.body)).toMatchObject({ code: 'encryption_required' })

    s = await raw(a, b)
    await s.write(FrameType.Message, await ciphers.outbound.seal(body, encodeHeader(FrameType.Message, FLAG_SEALED, 5)), FLAG_SEALED, 5)
    answer = await s.read()
    expect(decodeJson(FrameType.Error, answer.body).message).toContain('Frame 5 arrived where 0 was expected')

    expect(messages(b)).toHaveLength(0)
    // the untouched frame is accepted
    s = await raw(a, b)
    await s.write(FrameType.Message, await ciphers.outbound.seal(body, encodeHeader(FrameType.Message, FLAG_SEALED, 0)), FLAG_SEALED)
    expect((await s.read()).type).toBe(FrameType.Ack)
    expect(messages(b).map(m => m.text)).toEqual(['tampered'])
  })

  it('both sides negotiating at once end with one session, the same on both sides', async () => {
    const [a, b] = await pair()
    // whether the two overlap or one finishes before the other starts, both sides end with one session
    for (let round = 0; round < 10; round++) {
      await Promise.all([
        a.node.services.chat.negotiateKeys(b.node.peerId),
        b.node.services.chat.negotiateKeys(a.node.peerId)
      ])
      const onA = a.keys.session(b.node.peerId.toString())?.fingerprint
      expect(onA, `round ${round}`).toBeDefined()
      expect(b.keys.session(a.node.peerId.toString())?.fingerprint, `round ${round}`).toBe(onA)
    }
    expect(await b.node.services.chat.sendMessage(a.node.peerId, 'sealed both ways')).toMatchObject({ encrypted: true })
    expect(await a.node.services.chat.sendMessage(b.node.peerId, 'and back')).toMatchObject({ encrypted: true })
  })

  it.each([['the lower', true], ['the higher', false]])('when %s peer id asks while the other\'s negotiation is under way, both keep that one session', async (_which, lowerAsks) => {
    const [x, y] = await pair()
    const [low, high] = x.node.peerId.toString() < y.node.peerId.toString() ? [x, y] : [y, x]
    const [first, second] = lowerAsks ? [high, low] : [low, high]
    // `second` holds its answer to `first` until released: its own negotiation starts meanwhile
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const establish = second.keys.establish
    second.keys.establish = async h => { if (!h.initiator) await gate; return await establish(h) }
    const one = first.node.services.chat.negotiateKeys(second.node.peerId)
    await second.nextFrame(f => f.direction === 'in' && f.frame[0] === FrameType.KeysFinish)
    const two = second.node.services.chat.negotiateKeys(first.node.peerId)
    release()
    const [a, b] = await Promise.all([one, two])
    expect(b.fingerprint).toBe(a.fingerprint)
    expect(first.keys.session(second.node.peerId.toString())?.fingerprint).toBe(a.fingerprint)
    expect(second.keys.session(first.node.peerId.toString())?.fingerprint).toBe(a.fingerprint)
  })

  it('while the lower peer id negotiates, a negotiation from the higher one is refused as a collision', async () => {
    const [x, y] = await pair()
    const [low, high] = x.node.peerId.toString() < y.node.peerId.toString() ? [x, y] : [y, x]
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const establish = high.keys.establish
    high.keys.establish = async h => { if (!h.initiator) await gate; return await establish(h) }
    const negotiating = low.node.services.chat.negotiateKeys(high.node.peerId)
    await high.nextFrame(f => f.direction === 'in' && f.frame[0] === FrameType.KeysFinish)
    const s = await raw(high, low)
    await s.write(FrameType.KeysInit, encodeJson({ public_key: Buffer.from(high.keys.publicKey()).toString('base64') }))
    expect(decodeJson(FrameType.Error, (await s.read()).body)).toMatchObject({ code: 'collision' })
    release()
    const { fingerprint } = await negotiating
    expect(high.keys.session(low.node.peerId.toString())?.fingerprint).toBe(fingerprint)
  })

  it('refuses a key that differs from the pinned one', async () => {
    const [a, b] = await pair()
    a.keys.pins.set(b.node.peerId.toString(), new Uint8Array(1216))
    await expect(a.node.services.chat.negotiateKeys(b.node.peerId)).rejects.toThrow('pinned key differs')
    expect(a.keys.session(b.node.peerId.toString())).toBeUndefined()
  })

  it('sends a file through the window, checks its hash, and refuses a wrong one', async () => {
    const [a, b] = await pair()
    const size = FILE_WINDOW_BYTES * 2 + 12345
    const bytes = new Uint8Array(size).map((_, i) => (i * 31) & 0xff)
    const progress: number[] = []
    const file = { name: 'data.bin', size, async * chunks (n: number) { for (let i = 0; i < size; i += n) yield bytes.subarray(i, i + n) } }
    const sent = await a.node.services.chat.sendFile(b.node.peerId, file, { chunkSize: 65536, onProgress: n => progress.push(n) })
    expect(progress.at(-1)).toBe(size)
    // compared by digest: toEqual walks 8 MB element by element for a long time
    expect(digest(Buffer.concat(b.receiver.files[0]!.bytes))).toBe(digest(bytes))
    expect(sent.sha256).toBe(digest(bytes))
    expect(await b.next(e => e.type === 'file-received')).toMatchObject({ size, sha256: sent.sha256, savedAs: 'saved-1' })

    // a sender lying about the hash: nothing is kept
    const s = await raw(a, b)
    await s.write(FrameType.FileOffer, encodeJson({ id: 'ef'.repeat(16), name: 'x', size: 3, chunk_size: 1024 }))
    expect((await s.read()).type).toBe(FrameType.Ack)
    await s.write(FrameType.FileChunk, new Uint8Array([1, 2, 3]))
    expect((await s.read()).type).toBe(FrameType.FileProgress)
    await s.write(FrameType.FileEnd, encodeJson({ sha256: '00'.repeat(32) }))
    const answer = await s.read()
    expect(decodeJson(FrameType.Error, answer.body)).toMatchObject({ code: 'hash_mismatch' })
    expect(b.receiver.files[1]).toMatchObject({ finished: false, aborted: true })
  })

  it('tells the sender when the receiver refuses or chat is stopped', async () => {
    const [a, b] = await pair()
    b.receiver.refuse = 'no room'
    const file = { name: 'x', size: 1, async * chunks () { yield new Uint8Array(1) } }
    await expect(a.node.services.chat.sendFile(b.node.peerId, file, { chunkSize: 1024 })).rejects.toMatchObject({ name: 'ChatRejectedError', message: 'no room' })
    b.node.services.chat.accepting = false
    await expect(a.node.services.chat.sendMessage(b.node.peerId, 'hello?')).rejects.toMatchObject({ name: 'ChatRejectedError', code: 'offline' })
  })

  it('keeps the stream\'s frames in ChatStream order (seq counts from 0 on each side)', async () => {
    const [a, b] = await pair()
    const stream = await a.node.dialProtocol(b.node.peerId, PROTOCOL)
    const s = new ChatStream(stream, { peer: b.node.peerId.toString() })
    await s.sendJson(FrameType.Hello, { name: 'Alice' })
    expect(await s.expect(FrameType.Hello)).toMatchObject({ name: 'Bob', sealed: false })
  })
})
