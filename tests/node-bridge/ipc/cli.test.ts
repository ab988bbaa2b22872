import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../node-bridge/cli/main'
import { startRelay, type TestRelay } from '../../helpers/relay'
import { introduce, startChatBridge, type ChatBridge } from './helpers'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

/** An in-memory terminal: what was printed, and a way to wait for a line. */
function terminal (): { out: { write(t: string): void }, err: { write(t: string): void }, text(): string, errors(): string, waitFor(s: string): Promise<void> } {
  let out = ''
  let err = ''
  const waiters: Array<() => void> = []
  return {
    out: { write: t => { out += t; for (const w of waiters.splice(0)) w() } },
    err: { write: t => { err += t } },
    text: () => out,
    errors: () => err,
    async waitFor (s) { while (!out.includes(s)) await new Promise<void>(resolve => waiters.push(resolve)) }
  }
}

/** Lines typed one after the other, each when the test says so. */
function keyboard (): { input: AsyncIterable<string>, type(line: string): void, end(): void } {
  const lines: Array<string | null> = []
  let wake: (() => void) | undefined
  return {
    input: (async function * () {
      for (;;) {
        while (lines.length === 0) await new Promise<void>(resolve => { wake = resolve })
        const line = lines.shift()
        if (line == null) return
        yield line
      }
    })(),
    type: line => { lines.push(line); wake?.() },
    end: () => { lines.push(null); wake?.() }
  }
}

describe('pipbingo chat: two terminals, two bridges', () => {
  let relay: TestRelay
  let alice: ChatBridge
  let bob: ChatBridge
  const ipc = (b: ChatBridge): string => `127.0.0.1:${b.bridge.ipcAddress().port}`

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

  it('Bob listens, Alice sends, negotiates keys and sends a file; Bob answers from `chat with`', async () => {
    const bobTerm = terminal()
    const stopBob = new AbortController()
    const listening = runCli(['chat', 'listen', '--ipc', ipc(bob)], { ...bobTerm, env: {}, signal: stopBob.signal })
    await bobTerm.waitFor('listening')

    const aliceTerm = terminal()
    expect(await runCli(['chat', 'send', '--ipc', ipc(alice), 'Bob', 'Hello', 'from', 'the', 'CLI'], { ...aliceTerm, env: {} })).toBe(0)
    expect(aliceTerm.text()).toBe('✓ Message sent\n')
    await bobTerm.waitFor('Alice: Hello from the CLI')

    expect(await runCli(['chat', 'keys', 'Bob'], { ...aliceTerm, env: { PIPBINGO_IPC: ipc(alice) } })).toBe(0)
    expect(aliceTerm.text()).toMatch(/🔑 Bob: keys negotiated \(X-Wing \(ML-KEM-768 \+ X25519\), HKDF-SHA256, AES-256-GCM\); fingerprint [0-9a-f]{16}/)
    await bobTerm.waitFor('🔑 keys negotiated with Alice')

    const path = join(alice.outbox, 'photo.jpg')
    await writeFile(path, Buffer.alloc(3 * 1024 * 1024, 7))
    expect(await runCli(['chat', 'file', '--ipc', ipc(alice), '--chunk-size', '8192', 'Bob', path], { ...aliceTerm, env: {} })).toBe(0)
    expect(aliceTerm.text()).toContain('↑ photo.jpg 100%')
    expect(aliceTerm.text()).toMatch(/✓ photo\.jpg sent to Bob \(3\.1 MB, sha256 [0-9a-f]{16}…\) 🔒/)
    await bobTerm.waitFor(`📎 Alice sent photo.jpg (3.1 MB): saved as ${join(bob.receiveDir, 'photo.jpg')} 🔒`)

    // Bob types back from another terminal
    const aliceListens = terminal()
    const stopAlice = new AbortController()
    const aliceListening = runCli(['chat', 'listen', '--ipc', ipc(alice)], { ...aliceListens, env: {}, signal: stopAlice.signal })
    await aliceListens.waitFor('listening')
    const keys = keyboard()
    const bobTalks = terminal()
    const talking = runCli(['chat', 'with', 'Alice', '--ipc', ipc(bob)], { ...bobTalks, env: {}, input: keys.input })
    await bobTalks.waitFor('talking to Alice')
    keys.type('hi Alice')
    keys.type('')
    keys.type('bye')
    await aliceListens.waitFor('Bob: bye 🔒')
    expect(aliceListens.text()).toMatch(/Bob: hi Alice 🔒\n.*Bob: bye 🔒/)
    keys.end()
    expect(await talking).toBe(0)

    stopBob.abort()
    stopAlice.abort()
    expect(await listening).toBe(0)
    expect(await aliceListening).toBe(0)
  })

  it('says what is wrong: an unknown peer, no daemon, a missing argument', async () => {
    const t = terminal()
    expect(await runCli(['chat', 'send', '--ipc', ipc(alice), 'Zoe', 'hi'], { ...t, env: {} })).toBe(1)
    expect(t.errors()).toBe('❌ Peer not found: Zoe\n')
    const u = terminal()
    expect(await runCli(['chat', 'peers', '--ipc', '127.0.0.1:1'], { ...u, env: {} })).toBe(1)
    expect(u.errors()).toMatch(/The daemon's IPC does not answer at 127\.0\.0\.1:1 \(ECONNREFUSED\)/)
    const v = terminal()
    expect(await runCli(['chat', 'send', '--ipc', ipc(alice), 'Bob'], { ...v, env: {} })).toBe(2)
    expect(v.errors()).toContain('Usage: pipbingo chat send <peer> <message…>')
  })

  it('runs as `npx pipbingo chat` does (the bin, in a child process)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['node-bridge/cli/pipbingo.mjs', 'chat', 'peers', '--ipc', ipc(alice)], { cwd: ROOT })
    expect(stdout).toContain('Bob')
    expect(stdout).toContain(bob.bridge.node.peerId.toString())
  })

  it('`chat file` exits once the transfer is acknowledged (it used to hang until Ctrl-C)', async () => {
    const path = join(alice.outbox, 'exit-test.bin')
    await writeFile(path, Buffer.alloc(200 * 1024, 3))
    // execFile resolves only when the process has exited; the timeout kills a process that hangs
    const { stdout } = await promisify(execFile)(process.execPath, ['node-bridge/cli/pipbingo.mjs', 'chat', 'file', '--ipc', ipc(alice), 'Bob', path], { cwd: ROOT, timeout: 30_000 })
    expect(stdout).toMatch(/✓ exit-test\.bin sent to Bob/)
  }, 40_000)
})
