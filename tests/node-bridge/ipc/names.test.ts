import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRelay, type TestRelay } from '../../helpers/relay'
import type { TestIpcClient } from './client'
import { introduce, startChatBridge, type ChatBridge } from './helpers'

describe('names, and p2p stop/start', () => {
  let relay: TestRelay
  let alice: ChatBridge
  let twin1: ChatBridge
  let twin2: ChatBridge
  let anonymous: ChatBridge
  let toAlice: TestIpcClient

  beforeAll(async () => {
    relay = await startRelay([])
    alice = await startChatBridge(relay, 'Alice')
    twin1 = await startChatBridge(relay, 'Twin')
    twin2 = await startChatBridge(relay, 'Twin')
    anonymous = await startChatBridge(relay, undefined)
    for (const b of [twin1, twin2, anonymous]) await introduce(alice, b)
    toAlice = await alice.ipc()
  })
  afterAll(async () => {
    toAlice?.close()
    for (const b of [alice, twin1, twin2, anonymous]) await b?.close()
    await relay?.close()
  })

  it('a node without --name is called peer-<end of its peer id>, and is reachable by it', async () => {
    const id = anonymous.bridge.node.peerId.toString()
    expect(anonymous.bridge.name).toBe(`peer-${id.slice(-8)}`)
    const peers = (await toAlice.request({ command: 'p2p', action: 'peers', data: null })).data
    expect(peers.find((p: any) => p.peer_id === id)?.name).toBe(`peer-${id.slice(-8)}`)
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: `peer-${id.slice(-8)}`, message: 'hi' } })).toMatchObject({ success: true })
  })

  it('two peers announcing one name: ambiguous until a contact or the peer id says which', async () => {
    const reply = await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Twin', message: 'which one?' } })
    expect(reply.success).toBe(false)
    expect(reply.error).toMatch(/^Peer name is ambiguous: Twin is announced by 2 peers \(12D3KooW\S+, 12D3KooW\S+\); add a contact or use the peer id$/)
    const id = twin2.bridge.node.peerId.toString()
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: id, message: 'by id' } })).toMatchObject({ success: true })
    // a contact pinned to twin 1's key takes the name
    const key = (await (await twin1.ipc()).request({ command: 'status', action: null, data: null })).data.public_key
    await toAlice.request({ command: 'contacts', action: 'add', data: { peer: 'Twin', public_key: key } })
    const toTwin1 = await twin1.ipc()
    await toTwin1.request({ command: 'status', action: 'subscribe', data: null })
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Twin', message: 'you, the first' } })).toMatchObject({ success: true })
    expect(await toTwin1.event(e => e.event === 'p2p_message_received')).toMatchObject({ data: { message: 'you, the first' }, meta: { encrypted: true } })
    toTwin1.close()
  })

  it('p2p stop: nothing goes out, nothing comes in, peers are gone; p2p start: back', async () => {
    await toAlice.request({ command: 'status', action: 'subscribe', data: null })
    expect(await toAlice.request({ command: 'p2p', action: 'stop', data: null })).toMatchObject({ data: 'P2P network stopped' })
    expect((await toAlice.event(e => e.event === 'p2p_status')).data.running).toBe(false)
    expect(toAlice.events.filter(e => e.event === 'peer_left').length).toBeGreaterThanOrEqual(3)
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Twin', message: 'x' } })).toMatchObject({ success: false, error: 'P2P network is not running (send p2p start)' })
    expect((await toAlice.request({ command: 'status', action: null, data: null })).data).toMatchObject({ p2p_running: false, chat_peers: 0 })
    const toTwin2 = await twin2.ipc()
    const refused = await toTwin2.request({ command: 'p2p', action: 'send_message', data: { peer: 'Alice', message: 'anyone?' } })
    expect(refused).toMatchObject({ success: false, error: 'The peer refused: Chat is stopped on this peer' })

    expect(await toAlice.request({ command: 'p2p', action: 'start', data: null })).toMatchObject({ data: 'P2P network started' })
    await toAlice.until(() => toAlice.events.filter(e => e.event === 'peer_joined').length >= 3, 10_000, 'the peers to say hello again')
    expect(await toTwin2.request({ command: 'p2p', action: 'send_message', data: { peer: 'Alice', message: 'welcome back' } })).toMatchObject({ success: true })
    toTwin2.close()
  })
})
