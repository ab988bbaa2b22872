import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** A loopback port nothing listens on now. */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => { resolve() }))
  return port
}

interface Proc { child: ChildProcess, output: string[], line(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>, stop(): Promise<void> }

/** `npm <args>` in the repository, as a person types it, its output kept. */
function npm (args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn('npm', args, { cwd: ROOT, env: { ...process.env, ...env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const output: string[] = []
  const waiters = new Set<() => void>()
  for (const s of [child.stdout!, child.stderr!]) createInterface({ input: s }).on('line', l => { output.push(l); for (const w of waiters) w() })
  const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
  return {
    child,
    output,
    async line (pattern, timeoutMs = 120_000) {
      return await new Promise((resolve, reject) => {
        const check = (): void => {
          for (const l of output) { const m = pattern.exec(l); if (m != null) { done(); resolve(m); return } }
        }
        const done = (): void => { clearTimeout(timer); waiters.delete(check) }
        const timer = setTimeout(() => { done(); reject(new Error(`no line matching ${pattern}:\n${output.join('\n')}`)) }, timeoutMs)
        waiters.add(check)
        void exited.then(() => { check(); done(); reject(new Error(`npm ${args.join(' ')} exited before a line matching ${pattern}:\n${output.join('\n')}`)) })
        check()
      })
    },
    async stop () {
      if (child.exitCode != null || child.signalCode != null) return
      process.kill(-child.pid!, 'SIGINT') // the whole group, as Ctrl-C does
      await exited
    }
  }
}

/** One request line on a raw TCP connection to the IPC, and its reply line (the contract's framing). */
async function ipcRequest (port: number, line: string): Promise<any> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.setEncoding('utf8')
  let buffer = ''
  try {
    return await new Promise((resolve, reject) => {
      socket.on('data', (d: string) => {
        buffer += d
        const nl = buffer.indexOf('\n')
        if (nl >= 0) resolve(JSON.parse(buffer.slice(0, nl)))
      })
      socket.on('error', reject)
      socket.write(`${line}\n`)
    })
  } finally {
    socket.destroy()
  }
}

/**
 * Issue 13, done-when: the README's quick start walked as written — `npm
 * start` (relay, bridge, web app, the sample video), the URL it prints, the
 * `npx pipbingo` commands — and the seed's IPC examples between two bridges
 * that share only that relay, through the CLI and raw TCP. Real processes
 * started by npm; the only liberties: every port and folder is a fresh one
 * (through the documented environment variables), so the test runs beside
 * others.
 */
describe('the README\'s quick start, as a new user runs it', () => {
  let dir: string
  let start: Proc
  let bob: Proc
  const NAMES = ['http', 'tcp', 'ws', 'api', 'ipc', 'p2p', 'bws'] as const
  const ports = {} as Record<typeof NAMES[number] | 'bobApi' | 'bobIpc' | 'bobP2p' | 'bobWs', number>

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-quick-start-'))
    await mkdir(join(dir, 'library'))
    await copyFile(join(ROOT, 'library', 'sample.mp4'), join(dir, 'library', 'sample.mp4'))
    for (const name of NAMES) ports[name] = await freePort()
  }, 30_000)
  afterAll(async () => {
    await bob?.stop()
    await start?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('npm start runs relay, bridge and web app with the sample, and prints the URL to open', async () => {
    start = npm(['start'], {
      PIPBINGO_HTTP_PORT: String(ports.http), PIPBINGO_TCP_PORT: String(ports.tcp), PIPBINGO_WS_PORT: String(ports.ws),
      PIPBINGO_LIBRARY: join(dir, 'library'), PIPBINGO_RELAY_DATA: join(dir, 'relay'),
      // its own build of the app (npm start builds it there, the relay serves it): dist/web is another test's
      PIPBINGO_WEB_ROOT: join(dir, 'web'),
      PIPBINGO_API_PORT: String(ports.api), PIPBINGO_IPC_PORT: String(ports.ipc), PIPBINGO_IPC_WS_PORT: '0',
      PIPBINGO_P2P_PORT: String(ports.p2p), PIPBINGO_BRIDGE_WS_PORT: String(ports.bws),
      PIPBINGO_RELAY_HTTP: `http://127.0.0.1:${ports.http}`, PIPBINGO_CACHE: join(dir, 'cache'), PIPBINGO_BRIDGE_DATA: join(dir, 'alice'),
      PIPBINGO_NAME: 'Alice', PIPBINGO_SEND_DIRS: join(dir, 'outbox')
    })
    const [, url] = await start.line(/✅ open (http:\/\/localhost:\d+)\//)
    expect(url).toBe(`http://localhost:${ports.http}`)
    expect(await (await fetch(`${url}/`)).text()).toContain('<html')
    const list = await (await fetch(`${url}/list`)).json() as Array<{ filename: string }>
    expect(list.map(e => e.filename)).toContain('sample.mp4')
    await start.line(/Local API at/)
  }, 180_000)

  it('npx pipbingo ls and download sample.mp4 against that bridge, as the README shows', async () => {
    const npx = async (args: string[]): Promise<string> => (await promisify(execFile)('npx', ['--no-install', 'pipbingo', ...args, '--api', `http://127.0.0.1:${ports.api}`], {
      cwd: ROOT, env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` }, timeout: 120_000
    })).stdout
    expect(await npx(['ls'])).toMatch(/sample\.mp4/)
    expect(await npx(['download', 'sample.mp4'])).toMatch(/🌱 sample\.mp4: in the cache, seeding/)
    const streamed = await fetch(`http://127.0.0.1:${ports.api}/stream/sample.mp4`, { headers: { Range: 'bytes=0-15' } })
    expect(streamed.status).toBe(206)
  }, 150_000)

  it('the seed\'s IPC examples between Alice and a second bridge, Bob, that share only the relay: CLI and raw TCP', async () => {
    // Bob's ports picked now, not with the others: a free port picked tens of seconds ahead can be
    // taken meanwhile by another test's process (once an HTTP server answered the IPC request here)
    for (const name of ['bobApi', 'bobIpc', 'bobP2p', 'bobWs'] as const) ports[name] = await freePort()
    bob = npm(['run', 'bridge'], {
      PIPBINGO_API_PORT: String(ports.bobApi), PIPBINGO_IPC_PORT: String(ports.bobIpc), PIPBINGO_IPC_WS_PORT: '0',
      PIPBINGO_P2P_PORT: String(ports.bobP2p), PIPBINGO_BRIDGE_WS_PORT: String(ports.bobWs),
      PIPBINGO_RELAY_HTTP: `http://127.0.0.1:${ports.http}`, PIPBINGO_CACHE: join(dir, 'bob-cache'), PIPBINGO_BRIDGE_DATA: join(dir, 'bob'),
      PIPBINGO_NAME: 'Bob'
    })
    // Bob's bridge says when the relay's tracker has taken his name: from then on Alice finds him by it
    await bob.line(/Name “Bob” registered at the relay/, 60_000)
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` }
    const sent = (await promisify(execFile)('npx', ['--no-install', 'pipbingo', 'chat', 'send', '--ipc', `127.0.0.1:${ports.ipc}`, 'Bob', 'Hello', 'World!'], { cwd: ROOT, env, timeout: 60_000 })).stdout
    expect(sent).toBe('✓ Message sent\n')
    // raw TCP on Bob's 8889, the seed's lines as written
    const back = await ipcRequest(ports.bobIpc, '{"command": "p2p", "action": "send_message", "data": {"peer": "Alice", "message": "Hello World!"}}')
    expect(back).toMatchObject({ success: true, data: 'Message sent' })
    const contact = await ipcRequest(ports.bobIpc, '{"command": "contacts", "action": "add", "data": {"peer": "Alice", "public_key": "base64encodedkey..."}}')
    expect(contact).toMatchObject({ success: true, data: 'Contact added' })
    // a file, from Alice's send folder, exits once acknowledged
    await mkdir(join(dir, 'outbox'), { recursive: true })
    await writeFile(join(dir, 'outbox', 'notes.txt'), 'from the quick start\n')
    const file = await promisify(execFile)('npx', ['--no-install', 'pipbingo', 'chat', 'file', '--ipc', `127.0.0.1:${ports.ipc}`, 'Bob', join(dir, 'outbox', 'notes.txt')], { cwd: ROOT, env, timeout: 60_000 })
    expect(file.stdout).toMatch(/✓ notes\.txt sent to Bob/)
  }, 180_000)
})
