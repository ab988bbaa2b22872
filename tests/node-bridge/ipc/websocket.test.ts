import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startRelay, type TestRelay } from '../../helpers/relay'
import { introduce, ISO_MS_UTC, startChatBridge, type ChatBridge } from './helpers'

/** A WebSocket client that keeps every message it gets. */
async function wsClient (url: string, origin?: string): Promise<{ ws: WebSocket, messages: any[], next(predicate: (m: any) => boolean): Promise<any> }> {
  const ws = new WebSocket(url, origin == null ? {} : { origin })
  const messages: any[] = []
  const waiters: Array<() => void> = []
  ws.on('message', data => { messages.push(JSON.parse(data.toString())); for (const w of waiters.splice(0)) w() })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => { resolve() }); ws.once('error', reject) })
  return {
    ws,
    messages,
    async next (predicate) {
      for (;;) {
        const found = messages.find(predicate)
        if (found != null) return found
        await new Promise<void>(resolve => waiters.push(resolve))
      }
    }
  }
}

describe('the IPC over a WebSocket', () => {
  let relay: TestRelay
  let alice: ChatBridge
  let bob: ChatBridge
  const url = (b: ChatBridge): string => `ws://127.0.0.1:${b.bridge.ipcAddress().wsPort}`

  beforeAll(async () => {
    relay = await startRelay([])
    alice = await startChatBridge(relay, 'Alice')
    bob = await startChatBridge(relay, 'Bob')
  })
  afterAll(async () => {
    await alice?.close()
    await bob?.close()
    await relay?.close()
  })

  it('pushes events without asking (peer joined, message received) and answers requests in order', async () => {
    const client = await wsClient(url(bob))
    await introduce(alice, bob)
    expect((await client.next(m => m.event === 'peer_joined')).data).toMatchObject({ peer: 'Alice', peer_id: alice.bridge.node.peerId.toString() })
    const toAlice = await alice.ipc()
    await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: 'Bob', message: 'over the socket' } })
    const event = await client.next(m => m.event === 'p2p_message_received')
    expect(event.data).toEqual({ peer: 'Alice', message: 'over the socket', timestamp: expect.stringMatching(ISO_MS_UTC) })
    toAlice.close()

    client.ws.send(JSON.stringify({ id: 1, command: 'status', action: null, data: null }))
    client.ws.send('{"id": 2, "command": "nope"}')
    client.ws.send(JSON.stringify({ id: 3, command: 'crypto', action: 'generate_keypair', data: null }))
    await client.next(m => m.id === 3)
    expect(client.messages.filter(m => m.id != null).map(m => [m.id, m.success])).toEqual([[1, true], [2, false], [3, true]])
    expect(client.messages.find(m => m.id === 1).data.name).toBe('Bob')
    client.ws.close()
  })

  it('refuses pages from other origins, accepts local ones, and plain HTTP gets 426', async () => {
    await expect(wsClient(url(alice), 'https://evil.example')).rejects.toThrow('Unexpected server response: 401')
    const local = await wsClient(url(alice), 'http://localhost:5173')
    local.ws.close()
    const response = await fetch(`http://127.0.0.1:${alice.bridge.ipcAddress().wsPort}/`)
    expect(response.status).toBe(426)
  })
})
