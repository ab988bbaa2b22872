import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRelay, type TestRelay } from '../../helpers/relay'
import { TestIpcClient } from './client'
import { startChatBridge, type ChatBridge } from './helpers'

/**
 * Whatever a client sends, it gets an answer or a clean close, and the
 * others keep being served. The bridge runs with a short idle timeout so
 * the idle cases do not take 30 s; everything else is the default.
 */
const IDLE_MS = 400

describe('bad input on the IPC socket', () => {
  let relay: TestRelay
  let bridge: ChatBridge
  let port: number
  const status = { command: 'status', action: null, data: null }

  beforeAll(async () => {
    relay = await startRelay([])
    bridge = await startChatBridge(relay, 'Solo', { ipcLimits: { idleTimeoutMs: IDLE_MS } })
    port = bridge.bridge.ipcAddress().port
  })
  afterAll(async () => {
    await bridge?.close()
    await relay?.close()
  })

  it.each([
    ['invalid JSON', '{"command": "p2p", "action": ', /^Invalid JSON: /],
    ['not an object', '["p2p", "start"]', 'Invalid request: expected a JSON object {"command", "action", "data"}'],
    ['a bare string', '"status"', 'Invalid request: expected a JSON object {"command", "action", "data"}'],
    ['no command', '{"action": "start"}', 'Missing command (expected one of: p2p, contacts, crypto, status)'],
    ['an unknown command', '{"command": "shell", "action": "run", "data": null}', 'Unknown command: "shell" (expected one of: p2p, contacts, crypto, status)'],
    ['an unknown action', '{"command": "p2p", "action": "fly", "data": null}', 'Unknown action for p2p: "fly" (expected one of: start, stop, peers, send_message, send_file)'],
    ['an action of another command', '{"command": "crypto", "action": "send_message", "data": {"peer": "a", "message": "b"}}', 'Unknown action for crypto: "send_message" (expected one of: generate_keypair, encrypt, decrypt)'],
    ['a number for a name', '{"command": "p2p", "action": "send_message", "data": {"peer": 42, "message": "hi"}}', 'Invalid request for p2p send_message: data.peer: expected string, received number'],
    ['a missing field', '{"command": "contacts", "action": "add", "data": {"peer": "Bob"}}', 'Invalid request for contacts add: data.public_key: expected string, received undefined'],
    ['an unknown field', '{"command": "contacts", "action": "remove", "data": {"peer": "Bob", "force": true}}', 'Invalid request for contacts remove: data: unknown field(s) "force"'],
    ['data of the wrong type', '{"command": "p2p", "action": "send_message", "data": "Bob: hi"}', 'Invalid request for p2p send_message: data: expected object, received string'],
    ['an empty message', '{"command": "p2p", "action": "send_message", "data": {"peer": "Bob", "message": ""}}', 'Invalid request for p2p send_message: data.message: must not be empty'],
    ['a bad id', '{"id": {"x": 1}, "command": "status"}', 'Invalid id: expected a string (at most 128 characters) or an integer'],
    ['not base64', '{"command": "crypto", "action": "decrypt", "data": {"encrypted_data": "%%%", "private_key": "AAAA"}}', 'Invalid encrypted_data: not base64'],
    ['an unknown contact', '{"command": "contacts", "action": "remove", "data": {"peer": "Nobody"}}', 'Contact not found: Nobody']
  ])('%s → success:false with a precise error, and the connection goes on', async (_what, line, error) => {
    const client = await TestIpcClient.connect(port)
    const reply = await client.request(`${line}\n`)
    expect(reply.success).toBe(false)
    if (typeof error === 'string') expect(reply.error).toBe(error)
    else expect(reply.error).toMatch(error)
    expect(await client.request(status)).toMatchObject({ success: true })
    client.close()
  })

  it('echoes ids (string or number), on errors too, and answers pipelined requests in order', async () => {
    const client = await TestIpcClient.connect(port)
    client.send('{"id": "a", "command": "status"}\n{"id": 2, "command": "nope"}\nnot json\n{"id": 3, "command": "crypto", "action": "generate_keypair"}\n')
    const replies = [await client.reply(), await client.reply(), await client.reply(), await client.reply()]
    expect(replies.map(r => [r.id, r.success])).toEqual([['a', true], [2, false], [undefined, false], [3, true]])
    client.close()
  })

  it('a 2 MiB line gets one error, is skipped to its newline, and the next request is answered', async () => {
    const client = await TestIpcClient.connect(port)
    const big = `{"command": "p2p", "action": "send_message", "data": {"peer": "Bob", "message": "${'x'.repeat(2 * 1024 * 1024)}"}}`
    // in pieces, as a real client would write it, with a request right behind it in the same write
    for (let i = 0; i < big.length; i += 100_000) client.socket.write(big.slice(i, i + 100_000))
    client.send(`\n${JSON.stringify({ ...status, id: 'after' })}\n`)
    const tooLong = await client.reply()
    expect(tooLong).toMatchObject({ success: false, error: 'Line too long: more than 1048576 bytes (files travel by file_path, not inline); skipped to the next newline' })
    expect(await client.reply()).toMatchObject({ success: true, id: 'after' })
    expect(client.replies).toHaveLength(2)
    client.close()
  })

  it('takes \\r\\n line ends, skips blank lines, and says so for bytes that are not UTF-8', async () => {
    const client = await TestIpcClient.connect(port)
    client.socket.write(Buffer.concat([Buffer.from('\r\n\n{"command":"status"}\r\n'), Buffer.from([0xff, 0xfe, 0x0a])]))
    expect(await client.reply()).toMatchObject({ success: true })
    expect(await client.reply()).toMatchObject({ success: false, error: 'Invalid JSON: the line is not UTF-8' })
    client.close()
  })

  it('a half-closed client gets its replies, then the server closes', async () => {
    const client = await TestIpcClient.connect(port)
    client.socket.end(`${JSON.stringify(status)}\n${JSON.stringify({ command: 'crypto', action: 'generate_keypair', data: null })}\n`)
    await client.waitClosed(5_000)
    expect(client.replies.map(r => r.success)).toEqual([true, true])
  })

  it('a client that goes quiet in the middle of a line is told and closed after the idle timeout; others are served meanwhile', async () => {
    const quiet = await TestIpcClient.connect(port)
    quiet.socket.write('{"command": "sta')
    const other = await TestIpcClient.connect(port)
    expect(await other.request(status)).toMatchObject({ success: true })
    await quiet.waitClosed(IDLE_MS * 10)
    expect(quiet.replies).toEqual([expect.objectContaining({ success: false, error: `Idle for ${IDLE_MS / 1000} s: closing the connection` })])
    // a silent client that never sent anything goes the same way
    const silent = await TestIpcClient.connect(port)
    await silent.waitClosed(IDLE_MS * 10)
    other.close()
  })

  it('a subscribed client is not idle: it stays to hear events', async () => {
    const listener = await TestIpcClient.connect(port)
    await listener.request({ command: 'status', action: 'subscribe', data: null })
    const probe = await TestIpcClient.connect(port)
    await probe.waitClosed(IDLE_MS * 10) // an idle timeout has passed for the listener too
    expect(listener.closed).toBe(false)
    await bridge.bridge.chat.stop()
    expect((await listener.event(e => e.event === 'p2p_status')).data.running).toBe(false)
    bridge.bridge.chat.start()
    listener.close()
  })

  it('an HTTP request (a web page aiming at the port) is dropped without an answer', async () => {
    const client = await TestIpcClient.connect(port)
    client.send('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n\r\n{"command":"status"}\n')
    await client.waitClosed(5_000)
    expect(client.raw).toEqual([])
  })

  it('200 clients at once: each is answered or told it is one too many and closed, never more than 64 held; then new clients are served', async () => {
    let most = 0
    let sampling = true
    const sample = (): void => { most = Math.max(most, bridge.bridge.ipc.tcp.clients); if (sampling) setImmediate(sample) }
    sample()
    const results = await Promise.all(Array.from({ length: 200 }, async () => {
      const client = await TestIpcClient.connect(port)
      client.send(status)
      await client.until(() => client.replies.length > 0 || client.closed, 10_000, 'an answer or a close')
      return client
    }))
    sampling = false
    const served = results.filter(c => c.replies[0]?.success === true)
    const refused = results.filter(c => c.replies[0]?.success === false)
    expect(served.length + refused.length).toBe(200)
    expect(served.length).toBeGreaterThanOrEqual(1)
    expect(most).toBeLessThanOrEqual(64)
    for (const c of refused) {
      expect(c.replies[0]!.error).toBe('Too many clients (at most 64): try again later')
      await c.waitClosed(5_000)
    }
    for (const c of served) c.close()
    await new Promise<void>(resolve => { const check = (): void => { if (bridge.bridge.ipc.tcp.clients === 0) resolve(); else setImmediate(check) }; check() })
    const fresh = await TestIpcClient.connect(port)
    expect(await fresh.request(status)).toMatchObject({ success: true })
    fresh.close()
  })

  it('a client that never reads cannot stall the others', async () => {
    // it pipelines thousands of requests and reads nothing back
    const hog = connect({ host: '127.0.0.1', port })
    await new Promise<void>(resolve => hog.once('connect', () => { resolve() }))
    hog.on('error', () => {})
    hog.pause()
    const line = `${JSON.stringify({ command: 'crypto', action: 'generate_keypair', data: null })}\n`
    for (let i = 0; i < 3000; i++) hog.write(line)
    const other = await TestIpcClient.connect(port)
    const started = Date.now()
    for (let i = 0; i < 20; i++) expect(await other.request(status)).toMatchObject({ success: true })
    expect(Date.now() - started).toBeLessThan(5_000)
    other.close()
    hog.destroy()
  })
})
