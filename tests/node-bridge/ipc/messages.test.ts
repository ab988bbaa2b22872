import { lpStream } from '@libp2p/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROTOCOL } from '@core/protocols/chat'
import { decodeFrame, decodeJson, encodeFrame, encodeHeader, encodeJson, FLAG_SEALED, FrameType } from '@core/protocols/chat/codec'
import { startRelay, type TestRelay } from '../../helpers/relay'
import type { TestIpcClient } from './client'
import { introduce, startChatBridge, type ChatBridge } from './helpers'

/** Frames as the tap saw them: the chat layer's bytes, above Noise (which encrypts again on the wire). */
interface Captured { direction: 'in' | 'out', peer: string, frame: Uint8Array }

describe('messages between two bridges, in clear and then end-to-end encrypted', () => {
  let relay: TestRelay
  let alice: ChatBridge
  let bob: ChatBridge
  let carol: ChatBridge
  let toAlice: TestIpcClient
  let toBob: TestIpcClient
  const captured: Captured[] = []
  const bobId = (): string => bob.bridge.node.peerId.toString()

  beforeAll(async () => {
    relay = await startRelay([])
    // the capture point: every chat frame Alice's bridge writes or reads
    alice = await startChatBridge(relay, 'Alice', { chatTap: (direction, peer, frame) => { captured.push({ direction, peer, frame: new Uint8Array(frame) }) } })
    bob = await startChatBridge(relay, 'Bob')
    carol = await startChatBridge(relay, 'Carol')
    await introduce(alice, bob)
    await introduce(alice, carol)
    toAlice = await alice.ipc()
    toBob = await bob.ipc()
    await toBob.request({ command: 'status', action: 'subscribe', data: null })
  })
  afterAll(async () => {
    toAlice?.close()
    toBob?.close()
    for (const b of [alice, bob, carol]) await b?.close()
    await relay?.close()
  })

  const received = (client: TestIpcClient): string[] => client.events.filter(e => e.event === 'p2p_message_received').map(e => e.data.message)

  it('Alice → Bob arrives as p2p_message_received; pipelined messages arrive once and in order, replies in order with their ids', async () => {
    const texts = Array.from({ length: 30 }, (_, i) => `plain ${i}`)
    texts.forEach((message, i) => { toAlice.send({ id: `m${i}`, command: 'p2p', action: 'send_message', data: { peer: 'Bob', message } }) })
    const replies = await Promise.all(texts.map(async () => await toAlice.reply()))
    expect(replies.map(r => r.id)).toEqual(texts.map((_, i) => `m${i}`))
    expect(replies.every(r => r.success === true && r.data === 'Message sent')).toBe(true)
    await toBob.until(() => received(toBob).length >= 30, 10_000, 'thirty messages')
    expect(received(toBob)).toEqual(texts)
    const first = toBob.events.find(e => e.event === 'p2p_message_received')!
    expect(first.data.peer).toBe('Alice')
    expect(first.meta).toMatchObject({ peer_id: alice.bridge.node.peerId.toString(), encrypted: false })
  })

  it('after negotiate_keys no chat frame carries the plaintext, both sides see the same fingerprint, and Bob is told', async () => {
    const reply = await toAlice.request({ command: 'contacts', action: 'negotiate_keys', data: { peer: 'Bob' } })
    expect(reply).toMatchObject({ success: true, data: { peer: 'Bob', algorithm: 'X-Wing (ML-KEM-768 + X25519), HKDF-SHA256, AES-256-GCM' } })
    const negotiated = await toBob.event(e => e.event === 'keys_negotiated')
    expect(negotiated.data).toMatchObject({ peer: 'Alice', fingerprint: reply.data.fingerprint, initiator: false })
    const bobsView = (await toBob.request({ command: 'contacts', action: 'list', data: null })).data
    expect(bobsView).toEqual([expect.objectContaining({ name: 'Alice', keys_negotiated: true, fingerprint: reply.data.fingerprint, public_key_valid: true })])

    captured.length = 0
    const secret = 'The eagle lands at 06:00 — Ω'
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Bob', message: secret } })).toMatchObject({ success: true, data: 'Message sent' })
    const event = await toBob.event(e => e.event === 'p2p_message_received' && e.data.message === secret)
    expect(event.meta.encrypted).toBe(true)

    const toFromBob = captured.filter(c => c.peer === bobId())
    expect(toFromBob.filter(c => c.direction === 'out').length).toBeGreaterThan(0)
    const needles = [secret, 'eagle', 'lands at', 'sent_at'].map(s => Buffer.from(s))
    for (const c of toFromBob) {
      // every frame both ways is sealed …
      expect(c.frame[1]! & FLAG_SEALED).toBe(FLAG_SEALED)
      // … and none contains the message or even the JSON around it
      for (const needle of needles) expect(Buffer.from(c.frame).includes(needle), `${c.direction} frame contains ${needle.toString()}`).toBe(false)
    }
  })

  it('a flipped ciphertext byte is rejected: the sender is told, nothing is delivered', async () => {
    const before = received(toBob).length
    // Alice's own session ciphers, as her bridge uses them: a sealed frame Bob would accept, then one bit changed
    const session = alice.bridge.chat.keyring.session(bobId())!
    const body = encodeJson({ id: '0f'.repeat(16), text: 'tampered with', sent_at: new Date().toISOString() })
    const header = encodeHeader(FrameType.Message, FLAG_SEALED, 0)
    const sealed = await session.outbound.seal(body, header)
    sealed[sealed.length - 20]! ^= 0x40
    const lp = lpStream(await alice.bridge.node.dialProtocol(bob.bridge.node.peerId, PROTOCOL))
    await lp.write(encodeFrame(header, sealed))
    const answer = decodeFrame((await lp.read()).subarray())
    expect(answer.type).toBe(FrameType.Error)
    expect(decodeJson(FrameType.Error, answer.body)).toMatchObject({ code: 'auth_failed' })

    // and in clear, once keys exist: refused too (no downgrade)
    const lp2 = lpStream(await alice.bridge.node.dialProtocol(bob.bridge.node.peerId, PROTOCOL))
    await lp2.write(encodeFrame(encodeHeader(FrameType.Message, 0, 0), body))
    expect(decodeJson(FrameType.Error, decodeFrame((await lp2.read()).subarray()).body)).toMatchObject({ code: 'encryption_required' })

    // a message sent after both is delivered: nothing was in between
    await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Bob', message: 'after the tampering' } })
    await toBob.event(e => e.data?.message === 'after the tampering')
    expect(received(toBob).slice(before)).toEqual(['after the tampering'])
  })

  it('a contact pinned by its public key takes the name, and messages to it are negotiated and sealed first', async () => {
    const toCarol = await carol.ipc()
    const carolKey = (await toCarol.request({ command: 'status', action: null, data: null })).data.public_key
    await toCarol.request({ command: 'status', action: 'subscribe', data: null })
    expect(await toAlice.request({ command: 'contacts', action: 'add', data: { peer: 'Caro', public_key: carolKey } })).toMatchObject({ data: 'Contact added' })
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Caro', message: 'hi Caro' } })).toMatchObject({ data: 'Message sent' })
    const event = await toCarol.event(e => e.event === 'p2p_message_received')
    expect(event).toMatchObject({ data: { peer: 'Alice', message: 'hi Caro' }, meta: { encrypted: true } })
    const contacts = (await toAlice.request({ command: 'contacts', action: 'list', data: null })).data
    expect(contacts.find((c: any) => c.name === 'Caro')).toMatchObject({ peer_id: carol.bridge.node.peerId.toString(), keys_negotiated: true })

    // a contact that pins another real key owns its name: the peer announcing "Carol" is not it
    const stranger = (await toAlice.request({ command: 'crypto', action: 'generate_keypair', data: null })).data.public_key
    await toAlice.request({ command: 'contacts', action: 'add', data: { peer: 'Carol', public_key: stranger } })
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Carol', message: 'who?' } })).toMatchObject({ success: false, error: 'Peer not found: Carol' })
    toCarol.close()
  })
})
