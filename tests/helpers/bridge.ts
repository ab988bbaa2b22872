import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { createBridge, type Bridge } from '../../node-bridge/bridge'
import { parseConfigObject, type BridgeConfigInput } from '../../node-bridge/config'
import { printDownloads } from '../../node-bridge/downloads/console-log'
import { on } from '../../node-bridge/downloads/events'
import type { DownloadState } from '../../node-bridge/downloads/states'
import type { DownloadStatus } from '../../node-bridge/downloads/status'
import type { TestRelay } from './relay'

export interface TestBridge {
  bridge: Bridge
  /** `http://127.0.0.1:<port>` of the REST API. */
  url: string
  dir: string
  /** The seed's console lines this bridge printed. */
  lines: string[]
  api(path: string, init?: RequestInit): Promise<Response>
  /** Resolves when `filename` is in one of `states` (now, or at a later change). */
  waitFor(filename: string, ...states: DownloadState[]): Promise<DownloadStatus>
  /** Stop the bridge and remove its folders (unless `keep`). */
  close(options?: { keep?: boolean }): Promise<void>
}

export interface StartBridgeOptions extends Partial<BridgeConfigInput> {
  /** Reuse folders (a restart): `<dir>/cache` and `<dir>/data`. */
  dir?: string
}

/**
 * A real bridge in this process on loopback, every port ephemeral, against
 * a test relay (its address found through `/info`, as by default), in a
 * temporary folder.
 */
export async function startBridge (relay: TestRelay | { httpUrl: string }, options: StartBridgeOptions = {}): Promise<TestBridge> {
  const { dir: given, ...overrides } = options
  const dir = given ?? await mkdtemp(join(tmpdir(), 'pipbingo-bridge-'))
  const relayHttp = 'relay' in relay ? relay.relay.httpUrl() : relay.httpUrl
  const config = parseConfigObject({
    apiPort: 0, p2pPort: 0, wsPort: 0, ipcPort: 0,
    relayHttp,
    cacheDir: join(dir, 'cache'),
    dataDir: join(dir, 'data'),
    ...overrides
  })
  const bridge = await createBridge(config)
  const lines: string[] = []
  printDownloads(bridge.manager, line => { lines.push(line) }, { lang: config.lang })
  try {
    await bridge.start()
  } catch (err) {
    await bridge.stop().catch(() => {})
    throw err
  }
  const url = bridge.apiUrl()
  return {
    bridge,
    url,
    dir,
    lines,
    api: async (path, init) => await fetch(`${url}${path}`, init),
    waitFor: async (filename, ...states) => await waitForState(bridge, filename, states),
    async close ({ keep = false } = {}) {
      await bridge.stop()
      if (!keep && given == null) await rm(dir, { recursive: true, force: true })
    }
  }
}

export async function waitForState (bridge: Pick<Bridge, 'manager'>, filename: string, states: DownloadState[]): Promise<DownloadStatus> {
  return await new Promise(resolve => {
    const off = on(bridge.manager, 'state', ({ status }) => {
      if (status.filename === filename && states.includes(status.status)) { off(); resolve(status) }
    })
    const now = bridge.manager.get(filename)
    if (now != null && states.includes(now.state)) { off(); resolve(now.snapshot()) }
  })
}

/** POST /download as the seed's curl does. */
export async function postDownload (url: string, filename: string): Promise<{ status: number, body: any }> {
  const response = await fetch(`${url}/download`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ filename })
  })
  return { status: response.status, body: await response.json() }
}

export interface ChildBridge {
  child: ChildProcess
  /** The REST API's URL, read from the console line that announces it. */
  url: string
  /** Everything printed so far. */
  output: string[]
  /** Resolves when the process has exited. */
  exited: Promise<number | null>
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * The bridge as `npm run bridge` runs it (`tsx node-bridge/main.ts`), in a
 * child process (this Node, with tsx as its loader), with every port ephemeral: its API URL is read from the
 * console line `🌐 Local API at http://localhost:<port>` (`🌐 API locale démarrée sur …` with `--lang fr`).
 */
export async function spawnBridge (args: string[], options: { timeoutMs?: number } = {}): Promise<ChildBridge> {
  // `node --import tsx`, not the tsx CLI: the CLI runs the program in a child of its own, which a kill -9 would orphan
  const child = spawn(process.execPath, ['--import', 'tsx', 'node-bridge/main.ts', '--api-port', '0', '--p2p-port', '0', '--ws-port', '0', '--ipc-port', '0', '--ipc-ws-port', '0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEBUG: process.env.BRIDGE_DEBUG ?? '' }
  })
  const output: string[] = []
  const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
  createInterface({ input: child.stderr! }).on('line', line => output.push(line))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`the bridge printed no API URL:\n${output.join('\n')}`)) }, options.timeoutMs ?? 20_000)
    createInterface({ input: child.stdout! }).on('line', line => {
      output.push(line)
      const match = /(?:Local API at|API locale démarrée sur) (http:\/\/\S+)/.exec(line)
      if (match != null) {
        clearTimeout(timer)
        resolve((match[1] as string).replace('localhost', '127.0.0.1'))
      }
    })
    void exited.then(code => { clearTimeout(timer); reject(new Error(`the bridge exited (${code}):\n${output.join('\n')}`)) })
  })
  return { child, url, output, exited }
}

/**
 * Read the server-sent events of `GET /events` until `predicate` accepts
 * one; resolves with that event's data.
 */
export async function nextEvent<T = any> (url: string, predicate: (event: string, data: T) => boolean, options: { signal?: AbortSignal } = {}): Promise<T> {
  const controller = new AbortController()
  const signal = AbortSignal.any([controller.signal, options.signal ?? AbortSignal.timeout(30_000)])
  const response = await fetch(`${url}/events`, { signal })
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) throw new Error('the event stream ended')
      buffer += value
      let cut: number
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event == null || data == null) continue
        const parsed = JSON.parse(data) as T
        if (predicate(event, parsed)) return parsed
      }
    }
  } finally {
    controller.abort()
  }
}
