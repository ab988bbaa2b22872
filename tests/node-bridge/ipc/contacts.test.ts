import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContactStore } from '../../../node-bridge/contacts/store'
import { startRelay, type TestRelay } from '../../helpers/relay'
import { introduce, startChatBridge, type ChatBridge } from './helpers'

describe('ContactStore on disk', () => {
  it('writes every change atomically, in order, readable by the owner only, with no temporary file left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipbingo-contacts-'))
    try {
      const store = await ContactStore.open(dir)
      await Promise.all(Array.from({ length: 50 }, async (_, i) => { await store.add(`friend ${i}`, `key ${i}`) }))
      await store.remove('friend 7')
      const again = await ContactStore.open(dir)
      expect(again.list().map(c => c.name).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `friend ${i}`).filter(n => n !== 'friend 7').sort())
      expect((await stat(join(dir, 'contacts.json'))).mode & 0o777).toBe(0o600)
      expect((await readdir(dir)).filter(n => n.endsWith('.tmp'))).toEqual([])
      expect(JSON.parse(await readFile(join(dir, 'contacts.json'), 'utf8')).version).toBe(1)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('a crash mid-write leaves the old file: a stale temporary file is ignored; a broken file stops the daemon instead of being lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipbingo-contacts-'))
    try {
      const store = await ContactStore.open(dir)
      await store.add('Bob', 'key')
      // what a crash between write and rename leaves: a half-written temporary file beside the real one
      await writeFile(join(dir, 'contacts.json.999.1.tmp'), '{"version": 1, "contacts": [{"na')
      expect((await ContactStore.open(dir)).list().map(c => c.name)).toEqual(['Bob'])

      await writeFile(join(dir, 'contacts.json'), '{"version": 1, "contacts": [')
      await expect(ContactStore.open(dir)).rejects.toMatchObject({ name: 'ContactsUnreadableError' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('contacts and keys survive a restart', () => {
  let relay: TestRelay
  let alice: ChatBridge
  let bob: ChatBridge

  beforeAll(async () => {
    relay = await startRelay([])
    alice = await startChatBridge(relay, 'Alice')
    bob = await startChatBridge(relay, 'Bob')
    await introduce(alice, bob)
  })
  afterAll(async () => {
    await alice?.close()
    await bob?.close()
    await relay?.close()
  })

  it('after a restart Alice has the same contacts, peer id and KEM key, and her messages to Bob are still sealed', async () => {
    let client = await alice.ipc()
    await client.request({ command: 'contacts', action: 'add', data: { peer: 'Dave', public_key: 'base64encodedkey...' } })
    await client.request({ command: 'contacts', action: 'add', data: { peer: 'Erin', public_key: 'another' } })
    await client.request({ command: 'contacts', action: 'remove', data: { peer: 'Erin' } })
    expect(await client.request({ command: 'contacts', action: 'negotiate_keys', data: { peer: 'Bob' } })).toMatchObject({ success: true })
    const before = (await client.request({ command: 'contacts', action: 'list', data: null })).data
    const statusBefore = (await client.request({ command: 'status', action: null, data: null })).data
    client.close()
    expect(before.map((c: any) => c.name).sort()).toEqual(['Bob', 'Dave'])

    await alice.close({ keep: true })
    alice = await startChatBridge(relay, 'Alice', { dir: alice.dir })
    client = await alice.ipc()
    const after = (await client.request({ command: 'contacts', action: 'list', data: null })).data
    const statusAfter = (await client.request({ command: 'status', action: null, data: null })).data
    const stable = (list: any[]): any[] => list.map(({ connected: _, ...c }) => c)
    expect(stable(after)).toEqual(stable(before))
    expect(statusAfter.peer_id).toBe(statusBefore.peer_id)
    expect(statusAfter.public_key).toBe(statusBefore.public_key)

    // Bob kept his side; Alice reloaded hers: the next message is sealed without a new negotiation
    await introduce(alice, bob)
    const toBob = await bob.ipc()
    await toBob.request({ command: 'status', action: 'subscribe', data: null })
    expect(await client.request({ command: 'p2p', action: 'send_message', data: { peer: 'Bob', message: 'back again' } })).toMatchObject({ success: true })
    expect((await toBob.event(e => e.event === 'p2p_message_received')).meta.encrypted).toBe(true)
    expect(toBob.events.some(e => e.event === 'keys_negotiated')).toBe(false)
    client.close()
    toBob.close()
  })
})
