import { readdir } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_CONTACTS } from '../../../node-bridge/contacts/store'
import { startRelay, type TestRelay } from '../../helpers/relay'
import { TestIpcClient } from './client'
import { startChatBridge, type ChatBridge } from './helpers'

/**
 * Issue 14's IPC rows, each against a real bridge: what a local program or
 * a web page aiming at 127.0.0.1:8889 did before, and what it gets now.
 */
describe('hostile IPC clients', () => {
  let relay: TestRelay
  let bridge: ChatBridge
  let port: number
  const status = { command: 'status', action: null, data: null }

  beforeAll(async () => {
    relay = await startRelay([])
    // silent clients are closed after 300 ms here (10 s by default), and any idle client may make
    // room at once (after 1 s by default); the rest is the default
    bridge = await startChatBridge(relay, 'Target', { ipcLimits: { firstLineTimeoutMs: 300, evictIdleAfterMs: 0 } })
    port = bridge.bridge.ipcAddress().port
  })
  afterAll(async () => {
    await bridge?.close()
    await relay?.close()
  })

  const contactNames = async (): Promise<string[]> => {
    const client = await TestIpcClient.connect(port)
    const names = ((await client.request({ command: 'contacts', action: 'list' })).data as Array<{ name: string }>).map(c => c.name)
    client.close()
    return names
  }

  it('a 5,000-deep line, sent while another request is in flight, gets a reply and the bridge goes on (it used to exit: RangeError)', async () => {
    const client = await TestIpcClient.connect(port)
    client.send({ id: 'first', command: 'crypto', action: 'generate_keypair' })
    client.send(`{"command":${'['.repeat(5000)}${']'.repeat(5000)}}\n`)
    client.send(`{"command":"contacts","action":"add","data":{"peer":"x","public_key":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}}\n`)
    client.send({ ...status, id: 'after' })
    const replies = [await client.reply(), await client.reply(), await client.reply(), await client.reply()]
    expect(replies.map(r => [r.id, r.success, r.error])).toEqual([
      ['first', true, undefined],
      [undefined, false, 'Invalid request: nested deeper than 16 levels'],
      [undefined, false, 'Invalid request: nested deeper than 16 levels'],
      ['after', true, undefined]
    ])
    client.close()
    // no temp file of an interrupted write beside the contacts
    expect((await readdir(join(bridge.dir, 'data'))).filter(f => f.endsWith('.tmp'))).toEqual([])
  })

  it('a web page\'s no-cors POST whose request line is longer than 64 bytes is dropped whole: no line of its body runs', async () => {
    const before = await contactNames()
    const body = [
      JSON.stringify({ command: 'contacts', action: 'add', data: { peer: 'Planted', public_key: 'AAAA' } }),
      JSON.stringify({ command: 'p2p', action: 'send_file', data: { peer: 'Attacker', file_path: '/etc/hostname' } })
    ].join('\n')
    const requestLines = [
      `POST /${'a'.repeat(200)}?x=${'b'.repeat(100)} HTTP/1.1`,
      // a request line cut across two writes, and one led by blank lines
      `\r\n\r\nPOST /${'c'.repeat(80)} HTTP/1.1`
    ]
    for (const line of requestLines) {
      const page = await TestIpcClient.connect(port)
      const head = `${line}\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`
      page.socket.write(head.slice(0, 40))
      page.socket.write(head.slice(40) + body + '\n')
      await page.waitClosed(5_000)
      expect(page.raw, line.slice(0, 30)).toEqual([])
    }
    // headers without the request line in the first bytes (a proxy, a smuggled request) count too
    const headersOnly = await TestIpcClient.connect(port)
    headersOnly.send(`{"command":"status"}\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n\r\n${body}\n`)
    await headersOnly.waitClosed(5_000)
    expect(headersOnly.raw).toEqual([])
    expect(await contactNames()).toEqual(before)
  })

  it('a client that sends nothing is closed after firstLineTimeoutMs, with a line that says why', async () => {
    const silent = await TestIpcClient.connect(port)
    await silent.waitClosed(5_000)
    expect(silent.replies).toHaveLength(1)
    expect(silent.replies[0]).toMatchObject({ success: false, error: 'No request within 0.3 s: closing the connection' })
  })

  it('64 idle clients hold every slot: a new client takes the slot of the longest idle one and is served', async () => {
    const { maxClients } = bridge.bridge.ipc.tcp.limits
    // idle, not silent: each asked once, then holds its connection open
    const idle: TestIpcClient[] = []
    for (let i = 0; i < maxClients; i++) {
      const c = await TestIpcClient.connect(port)
      expect(await c.request(status)).toMatchObject({ success: true })
      idle.push(c)
    }
    expect(bridge.bridge.ipc.tcp.clients).toBe(maxClients)
    const fresh = await TestIpcClient.connect(port)
    expect(await fresh.request(status, 5_000)).toMatchObject({ success: true })
    const evicted = idle.filter(c => c.replies.length === 2)
    expect(evicted).toHaveLength(1)
    expect(evicted[0]!.replies[1]).toMatchObject({ success: false, error: 'Closing this idle connection: every slot is taken and a new client needs one' })
    await evicted[0]!.waitClosed(5_000)
    for (const c of [...idle, fresh]) c.close()
  })

  it('contacts add is capped: the 1,001st name is refused, keys longer than 4 KiB too', async () => {
    const client = await TestIpcClient.connect(port)
    const have = (await contactNames()).length
    // pipelined, as a flood would come
    for (let i = have; i < MAX_CONTACTS; i++) client.send({ id: i, command: 'contacts', action: 'add', data: { peer: `flood-${i}`, public_key: 'AAAA' } })
    for (let i = have; i < MAX_CONTACTS; i++) expect((await client.reply(60_000)).success).toBe(true)
    expect(await client.request({ command: 'contacts', action: 'add', data: { peer: 'one-more', public_key: 'AAAA' } }))
      .toMatchObject({ success: false, error: `Too many contacts (at most ${MAX_CONTACTS}): remove one first` })
    // replacing the key of an existing contact is still allowed
    expect(await client.request({ command: 'contacts', action: 'add', data: { peer: `flood-${MAX_CONTACTS - 1}`, public_key: 'BBBB' } })).toMatchObject({ success: true })
    expect(await client.request({ command: 'contacts', action: 'add', data: { peer: 'flood-0', public_key: 'A'.repeat(4097) } }))
      .toMatchObject({ success: false, error: 'Invalid request for contacts add: data.public_key: Too big: expected string to have <=4096 characters' })
    client.close()
  })

  it('a raw socket that starts a line and never ends it does not keep others out, and is closed by the first-line deadline', async () => {
    const slow = connect({ host: '127.0.0.1', port })
    const closed = new Promise<void>(resolve => slow.once('close', () => { resolve() }))
    slow.resume() // reads what comes, so that the server's end reaches it
    await new Promise<void>(resolve => slow.once('connect', () => { resolve() }))
    slow.write('{')
    const other = await TestIpcClient.connect(port)
    expect(await other.request(status)).toMatchObject({ success: true })
    other.close()
    // it never finished a line: the first-line deadline closes it
    await closed
  })
})
