import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nameKey } from '@core/routing/names'
import { startRelay, type TestRelay } from '../../helpers/relay'
import type { TestIpcClient } from './client'
import { nameRegistered, startChatBridge, type ChatBridge } from './helpers'

/**
 * Issue 13, row 2: two bridges that share only a relay find each other by
 * name. Each registers its display name with the relay's tracker
 * (routing/names.ts); `send_message` to a name nobody connected announced
 * looks it up there, dials the peers that registered it and trusts only
 * what their HELLO says. No test dials one bridge from the other.
 */
describe('names through the relay: bridges that share only a relay', () => {
  let relay: TestRelay
  let alice: ChatBridge
  let bob: ChatBridge
  let mallory: ChatBridge
  let toAlice: TestIpcClient
  let toBob: TestIpcClient

  const registered = async (bridge: ChatBridge, name: string): Promise<void> => { await nameRegistered(relay, bridge, name) }

  beforeAll(async () => {
    relay = await startRelay([])
    alice = await startChatBridge(relay, 'Alice')
    bob = await startChatBridge(relay, 'Bob')
    mallory = await startChatBridge(relay, 'Mallory')
    await Promise.all([registered(alice, 'Alice'), registered(bob, 'Bob'), registered(mallory, 'Mallory')])
    toAlice = await alice.ipc()
    toBob = await bob.ipc()
    await toBob.request({ command: 'status', action: 'subscribe', data: null })
  })
  afterAll(async () => {
    toAlice?.close()
    toBob?.close()
    for (const b of [alice, bob, mallory]) await b?.close()
    await relay?.close()
  })

  it('the seed\'s example works as written: send_message to "Bob" reaches Bob, who sees it from "Alice"', async () => {
    expect(alice.bridge.node.getConnections(bob.bridge.node.peerId)).toEqual([])
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Bob', message: 'Hello World!' } }))
      .toMatchObject({ success: true, data: 'Message sent' })
    expect(await toBob.event(e => e.event === 'p2p_message_received')).toMatchObject({ data: { peer: 'Alice', message: 'Hello World!' } })
    // and back, by name, now that they know each other
    expect(await (await bob.ipc()).request({ command: 'p2p', action: 'send_message', data: { peer: 'Alice', message: 'Hi' } })).toMatchObject({ success: true })
  })

  it('a name nobody registered: Peer not found, at once', async () => {
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Nobody', message: 'x' } }, 5_000))
      .toMatchObject({ success: false, error: 'Peer not found: Nobody' })
  })

  it('a peer that registers a name it does not announce gains nothing: its HELLO says who it is', async () => {
    await mallory.bridge.node.services.tracker.announce([{ contentId: await nameKey('Carol'), complete: true }])
    await registered(mallory, 'Carol')
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Carol', message: 'for Carol only' } }))
      .toMatchObject({ success: false, error: 'Peer not found: Carol' })
    // the lookup did reach it: Alice now knows it by the name it announces
    const peers = (await toAlice.request({ command: 'p2p', action: 'peers', data: null })).data as Array<{ name: string | null, peer_id: string }>
    expect(peers.find(p => p.peer_id === mallory.bridge.node.peerId.toString())?.name).toBe('Mallory')
  })

  it('keys negotiate by name too, through the same lookup', async () => {
    const fresh = await startChatBridge(relay, 'Dave')
    try {
      await registered(fresh, 'Dave')
      expect(await toAlice.request({ command: 'contacts', action: 'negotiate_keys', data: { peer: 'Dave' } }))
        .toMatchObject({ success: true, data: { peer: 'Dave', peer_id: fresh.bridge.node.peerId.toString() } })
    } finally {
      await fresh.close()
    }
  })
})
