import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startRelay, type TestRelay } from '../../helpers/relay'
import { introduce, ISO_MS_UTC, startChatBridge, type ChatBridge } from './helpers'

/** A WebSocket client that keeps every message it gets. */
async function wsClient (url: string, origin?: string, headers?: Record<string, string>): Promise<{ ws: WebSocket, messages: any[], next(predicate: (m: any) => boolean): Promise<any> }> {
  const ws = new WebSocket(url, { ...(origin == null ? {} : { origin }), ...(headers == null ? {} : { headers }) })
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

  it('takes pages of the app\'s origin with the API token only, refuses other origins (other localhost ports too) and foreign Hosts, and plain HTTP gets 426', async () => {
    const app = relay.relay.httpUrl()
    const token = (await readFile(join(alice.dir, 'data', 'api-token'), 'utf8')).trim()
    for (const origin of ['https://evil.example', 'http://localhost:5173', 'http://127.0.0.1:9']) {
      await expect(wsClient(`${url(alice)}/?token=${token}`, origin), origin).rejects.toThrow('Unexpected server response: 403')
    }
    await expect(wsClient(url(alice), app)).rejects.toThrow('Unexpected server response: 403')
    await expect(wsClient(`${url(alice)}/?token=${'0'.repeat(64)}`, app)).rejects.toThrow('Unexpected server response: 403')
    await expect(wsClient(url(alice), undefined, { host: `rebind.evil.example:${alice.bridge.ipcAddress().wsPort}` })).rejects.toThrow('Unexpected server response: 403')
    const page = await wsClient(`${url(alice)}/?token=${token}`, app)
    page.ws.send(JSON.stringify({ id: 1, command: 'status' }))
    expect((await page.next(m => m.id === 1)).success).toBe(true)
    page.ws.close()
    // a program (no Origin) needs no token
    const program = await wsClient(url(alice))
    program.ws.close()
    const response = await fetch(`http://127.0.0.1:${alice.bridge.ipcAddress().wsPort}/`)
    expect(response.status).toBe(426)
  })

  it('a 5,000-deep request is refused with a reply, while another is in flight, and the bridge goes on', async () => {
    const client = await wsClient(url(alice))
    client.ws.send(JSON.stringify({ id: 1, command: 'crypto', action: 'generate_keypair' }))
    client.ws.send(`{"id": 2, "command": ${'['.repeat(5000)}${']'.repeat(5000)}}`)
    client.ws.send(JSON.stringify({ id: 3, command: 'status' }))
    await client.next(m => m.id === 3)
    // replies in request order; the refused line's id was never read, so its reply has none
    const replies = client.messages.filter(m => 'success' in m).map(m => [m.id, m.success, m.error])
    expect(replies).toEqual([[1, true, undefined], [undefined, false, 'Invalid request: nested deeper than 16 levels'], [3, true, undefined]])
    client.ws.close()
  })
})
