import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRelay, type TestRelay } from '../../helpers/relay'
import type { TestIpcClient, Line } from './client'
import { ISO_MS_UTC, nameRegistered, startChatBridge, type ChatBridge } from './helpers'

/**
 * The seed's IPC examples (shared/seeds/003_…txt, "Exemples d'usage",
 * "Gestion des erreurs", "Événements"), each sent as written — one JSON
 * object per line, the contract's framing — against real bridges, and every
 * row of the contract's command table with its documented result.
 */
function expectEnvelope (reply: Line, success: boolean): void {
  expect(Object.keys(reply).sort()).toEqual(success ? ['data', 'success', 'timestamp'] : ['error', 'success', 'timestamp'])
  expect(reply.success).toBe(success)
  expect(reply.timestamp).toMatch(ISO_MS_UTC)
  expect(Math.abs(Date.parse(reply.timestamp) - Date.now())).toBeLessThan(60_000)
}

describe('the seed\'s IPC examples, as written', () => {
  let relay: TestRelay
  let alice: ChatBridge
  let bob: ChatBridge
  let toAlice: TestIpcClient
  let toBob: TestIpcClient

  beforeAll(async () => {
    relay = await startRelay([])
    // Bob first, alone: the seed's error example asks for an Alice nobody knows yet
    bob = await startChatBridge(relay, 'Bob')
    toBob = await bob.ipc()
  })
  afterAll(async () => {
    toAlice?.close()
    toBob?.close()
    await alice?.close()
    await bob?.close()
    await relay?.close()
  })

  it('Gestion des erreurs: a peer nobody announced is "Peer not found: Alice"', async () => {
    const reply = await toBob.request('{"command": "p2p", "action": "send_message", "data": {"peer": "Alice", "message": "Hello World!"}}\n')
    expectEnvelope(reply, false)
    expect(reply.error).toBe('Peer not found: Alice')
  })

  it('Démarrer P2P: "P2P network started"', async () => {
    const reply = await toBob.request('{"command": "p2p", "action": "start", "data": {"stun_urls": ["stun:stun.l.google.com:19302"]}}\n')
    expectEnvelope(reply, true)
    expect(reply.data).toBe('P2P network started')
    expect((await toBob.request({ command: 'status', action: null, data: null })).data.stun_urls).toEqual(['stun:stun.l.google.com:19302'])
  })

  it('Envoyer un message: "Message sent", and Alice\'s client gets p2p_message_received — two bridges that share only the relay', async () => {
    alice = await startChatBridge(relay, 'Alice')
    toAlice = await alice.ipc()
    // Alice's name reaches the relay's tracker when her bridge announces it; nobody dials anybody
    await nameRegistered(relay, alice, 'Alice')
    expect(await toAlice.request({ command: 'status', action: 'subscribe', data: null })).toMatchObject({ success: true, data: 'Subscribed to events' })
    const reply = await toBob.request('{"command": "p2p", "action": "send_message", "data": {"peer": "Alice", "message": "Hello World!"}}\n')
    expectEnvelope(reply, true)
    expect(reply.data).toBe('Message sent')
    const event = await toAlice.event(e => e.event === 'p2p_message_received')
    expect(event.data).toEqual({ peer: 'Bob', message: 'Hello World!', timestamp: expect.stringMatching(ISO_MS_UTC) })
  })

  it('Événements: {"event": "p2p_message_received", "data": {"peer": "Alice", "message": "Hello!", "timestamp"}}', async () => {
    expect(await toBob.request({ command: 'status', action: 'subscribe', data: { events: ['p2p_message_received'] } })).toMatchObject({ success: true })
    expect((await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Bob', message: 'Hello!' } })).data).toBe('Message sent')
    const event = await toBob.event(e => e.event === 'p2p_message_received')
    expect(event.event).toBe('p2p_message_received')
    expect(Object.keys(event.data).sort()).toEqual(['message', 'peer', 'timestamp'])
    expect(event.data).toMatchObject({ peer: 'Alice', message: 'Hello!' })
    expect(event.data.timestamp).toMatch(ISO_MS_UTC)
  })

  it('Ajouter un contact: "Contact added", even with the seed\'s placeholder key', async () => {
    const reply = await toAlice.request('{"command": "contacts", "action": "add", "data": {"peer": "Bob", "public_key": "base64encodedkey..."}}\n')
    expectEnvelope(reply, true)
    expect(reply.data).toBe('Contact added')
    const contacts = (await toAlice.request({ command: 'contacts', action: 'list', data: null })).data
    expect(contacts).toEqual([expect.objectContaining({ name: 'Bob', public_key: 'base64encodedkey...', public_key_valid: false, keys_negotiated: false })])
    // a placeholder key pins nothing: "Bob" still reaches the peer that announces that name
    expect((await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Bob', message: 'still you?' } })).data).toBe('Message sent')
  })

  it('every row of the command table answers its documented shape', async () => {
    const file = join(alice.outbox, 'note.txt')
    await writeFile(file, 'a small file\n')
    const rows: Array<[unknown, (data: any) => void]> = [
      [{ command: 'p2p', action: 'peers', data: null }, data => {
        const peer = data.find((p: any) => p.name === 'Bob')
        expect(peer).toMatchObject({ peer_id: bob.bridge.node.peerId.toString(), chat: true })
        expect(peer.addresses.length).toBeGreaterThan(0)
        expect(peer.connected_since).toMatch(ISO_MS_UTC)
      }],
      [{ command: 'p2p', action: 'send_file', data: { peer: 'Bob', file_path: file, chunk_size: 8192 } }, data => {
        expect(data).toMatchObject({ message: 'File sent', peer: 'Bob', file_name: 'note.txt', size: 13, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })
      }],
      [{ command: 'contacts', action: 'list', data: null }, data => { expect(Array.isArray(data)).toBe(true) }],
      [{ command: 'contacts', action: 'remove', data: { peer: 'Bob' } }, data => { expect(data).toBe('Contact removed') }],
      [{ command: 'contacts', action: 'negotiate_keys', data: { peer: 'Bob' } }, data => {
        expect(data).toMatchObject({ message: 'Keys negotiated', peer: 'Bob', peer_id: bob.bridge.node.peerId.toString(), fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) })
      }],
      [{ command: 'crypto', action: 'generate_keypair', data: null }, data => {
        expect(Object.keys(data).sort()).toEqual(['algorithm', 'private_key', 'public_key'])
      }],
      [{ command: 'status', action: null, data: null }, data => {
        expect(data).toMatchObject({ p2p_running: true, name: 'Alice', peer_id: alice.bridge.node.peerId.toString(), contacts: 1, version: '0.1.0' })
        expect(data.peers).toBeGreaterThanOrEqual(2)
        expect(Number.isInteger(data.uptime_seconds)).toBe(true)
      }],
      [{ command: 'p2p', action: 'stop', data: null }, data => { expect(data).toBe('P2P network stopped') }],
      [{ command: 'p2p', action: 'start', data: null }, data => { expect(data).toBe('P2P network started') }]
    ]
    for (const [request, check] of rows) {
      const reply = await toAlice.request(request)
      expectEnvelope(reply, true)
      check(reply.data)
    }
    const { public_key, private_key } = (await toAlice.request({ command: 'crypto', action: 'generate_keypair', data: null })).data
    const encrypted = await toAlice.request({ command: 'crypto', action: 'encrypt', data: { message: 'secret', public_key } })
    expectEnvelope(encrypted, true)
    expect(Object.keys(encrypted.data)).toEqual(['encrypted_data'])
    const decrypted = await toAlice.request({ command: 'crypto', action: 'decrypt', data: { encrypted_data: encrypted.data.encrypted_data, private_key } })
    expectEnvelope(decrypted, true)
    expect(decrypted.data).toEqual({ message: 'secret' })
  })
})
