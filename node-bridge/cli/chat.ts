import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { CliError } from './errors'
import { formatBytes, table } from './format'
import { IpcClient, type IpcEvent } from './ipc-client'
import type { Output } from './progress'

export const CHAT_USAGE = `Usage: pipbingo chat <command> [options]   (talks to the daemon's IPC)
  send <peer> <message…>    send one message
  file <peer> <path>        send a file from the bridge's send folders (--send-dir; default <data-dir>/outbox) (--chunk-size, default 65536)
  listen                    print what arrives (messages, files, peers) until Ctrl-C
  with <peer>               chat: each line you type goes to <peer>, what arrives is printed
  peers                     the connected peers and their names
  contacts                  the contacts
  keys <peer>               negotiate post-quantum keys with <peer> (then everything is end-to-end encrypted)
Options:
  --ipc <host:port>         the daemon's IPC (default 127.0.0.1:8889, env PIPBINGO_IPC)
  --chunk-size <bytes>      file: the chunk size
  --json                    print the IPC's JSON`

export interface ChatIo {
  out: Output
  err: Output
  env: NodeJS.ProcessEnv
  signal?: AbortSignal
  /** Lines typed by the user (`chat with`). */
  input?: AsyncIterable<string>
}

const clock = (iso: string): string => (iso.split('T')[1] ?? '').slice(0, 8)

/** Lets a transfer's progress through once per tenth (and at 100 %), so a 50 MB file prints ~11 lines, not 50. */
function everyTenth (): (e: IpcEvent) => boolean {
  const shown = new Map<string, number>()
  return e => {
    if (e.event !== 'file_progress') return true
    const tenth = Math.floor(e.data.percent / 10)
    if ((shown.get(e.data.transfer_id) ?? -1) >= tenth) return false
    shown.set(e.data.transfer_id, tenth)
    return true
  }
}

/** One line for an event (undefined for events it does not know). */
export function describeEvent (e: IpcEvent): string | undefined {
  const d = e.data
  switch (e.event) {
    case 'p2p_message_received': return `[${clock(d.timestamp)}] ${d.peer}: ${d.message}${e.meta?.encrypted === true ? ' 🔒' : ''}`
    case 'file_received': return `[${clock(d.timestamp)}] 📎 ${d.peer} sent ${d.file_name} (${formatBytes(d.size)}): saved as ${d.path ?? d.saved_as}${d.encrypted === true ? ' 🔒' : ''}`
    case 'file_failed': return `[${clock(d.timestamp)}] ❌ ${d.file_name} (${d.direction === 'in' ? 'from' : 'to'} ${d.peer}): ${d.error}`
    case 'file_progress': return `   ${d.direction === 'in' ? '↓' : '↑'} ${d.file_name} ${Math.floor(d.percent)}% (${formatBytes(d.bytes)}/${formatBytes(d.total)})`
    case 'peer_joined': return `[${clock(d.timestamp)}] → ${d.peer} joined`
    case 'peer_left': return `[${clock(d.timestamp)}] ← ${d.peer} left`
    case 'keys_negotiated': return `[${clock(d.timestamp)}] 🔑 keys negotiated with ${d.peer} (fingerprint ${d.fingerprint})`
    case 'p2p_status': return `[${clock(d.timestamp)}] P2P ${d.running === true ? 'started' : 'stopped'}`
    default: return undefined
  }
}

/** `pipbingo chat …`; returns the exit code. */
export async function runChat (argv: string[], io: ChatIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { ipc: { type: 'string' }, 'chunk-size': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (err: any) {
    io.err.write(`${err.message}\n\n${CHAT_USAGE}\n`)
    return 2
  }
  const { values, positionals: [command, ...rest] } = parsed
  if (values.help === true || command == null) {
    io.out.write(`${CHAT_USAGE}\n`)
    return command == null && values.help !== true ? 2 : 0
  }
  const print = (text: string): void => { io.out.write(`${text}\n`) }
  const need = (n: number, usage: string): void => { if (rest.length < n) throw new CliError(`Usage: pipbingo chat ${usage}`, undefined, 2) }
  let client: IpcClient | undefined
  try {
    client = await IpcClient.connect(values.ipc ?? io.env.PIPBINGO_IPC ?? '127.0.0.1:8889', io.signal)
    const show = (data: unknown, text: () => string): void => { print(values.json === true ? JSON.stringify(data, null, 2) : text()) }
    switch (command) {
      case 'send': {
        need(2, 'send <peer> <message…>')
        const data = await client.request('p2p', 'send_message', { peer: rest[0], message: rest.slice(1).join(' ') })
        show(data, () => `✓ ${String(data)}`)
        return 0
      }
      case 'file': {
        need(2, 'file <peer> <path>')
        const chunk = values['chunk-size'] == null ? undefined : Number(values['chunk-size'])
        const pass = everyTenth()
        const off = client.onEvent(e => { if (e.event === 'file_progress' && values.json !== true && pass(e)) print(describeEvent(e) as string) })
        await client.request('status', 'subscribe', { events: ['file_progress'] })
        const data = await client.request('p2p', 'send_file', { peer: rest[0], file_path: resolve(rest[1] as string), ...(chunk != null ? { chunk_size: chunk } : {}) })
        off()
        show(data, () => `✓ ${data.file_name} sent to ${data.peer} (${formatBytes(data.size)}, sha256 ${data.sha256.slice(0, 16)}…)${data.encrypted === true ? ' 🔒' : ''}`)
        return 0
      }
      case 'peers': {
        const data = await client.request('p2p', 'peers')
        show(data, () => data.length === 0 ? 'No peer connected.' : table(['name', 'peer id', 'since', '🔒'], data.map((p: any) => [p.contact ?? p.name ?? '-', p.peer_id, clock(p.connected_since), p.encrypted === true ? 'yes' : ''])))
        return 0
      }
      case 'contacts': {
        const data = await client.request('contacts', 'list')
        show(data, () => data.length === 0 ? 'No contact.' : table(['name', 'peer id', 'keys', 'fingerprint'], data.map((c: any) => [c.name, c.peer_id ?? '-', c.keys_negotiated === true ? 'negotiated' : (c.public_key_valid === true ? 'pinned' : '-'), c.fingerprint ?? ''])))
        return 0
      }
      case 'keys': {
        need(1, 'keys <peer>')
        const data = await client.request('contacts', 'negotiate_keys', { peer: rest[0] })
        show(data, () => `🔑 ${data.peer}: keys negotiated (${data.algorithm}); fingerprint ${data.fingerprint}`)
        return 0
      }
      case 'listen':
      case 'with':
        if (command === 'with') need(1, 'with <peer>')
        return await converse(client, command === 'with' ? rest[0] : undefined, io, values.json === true)
      default:
        io.err.write(`Unknown chat command "${command}"\n\n${CHAT_USAGE}\n`)
        return 2
    }
  } catch (err: any) {
    if (err?.name !== 'CliError') throw err
    io.err.write(`❌ ${(err as CliError).message}\n`)
    return (err as CliError).exitCode
  } finally {
    client?.close()
  }
}

/** Print events until the signal (Ctrl-C) or the end of input; with a peer, send each typed line to it. */
async function converse (client: IpcClient, peer: string | undefined, io: ChatIo, json: boolean): Promise<number> {
  const print = (text: string): void => { io.out.write(`${text}\n`) }
  const pass = everyTenth()
  client.onEvent(e => {
    if (json) { print(JSON.stringify(e)); return }
    if (!pass(e)) return
    const line = describeEvent(e)
    if (line != null) print(line)
  })
  await client.request('status', 'subscribe', null)
  const status = await client.request('status', null)
  if (!json) print(`💬 ${status.name} (${status.peer_id}) — ${peer == null ? 'listening, Ctrl-C to stop' : `talking to ${peer}, Ctrl-D to stop`}`)
  const stopped = new Promise<void>(resolve => {
    if (io.signal?.aborted === true) resolve()
    io.signal?.addEventListener('abort', () => { resolve() }, { once: true })
    void client.closed.then(() => { resolve() })
  })
  if (peer != null && io.input != null) {
    const typing = (async () => {
      for await (const line of io.input!) {
        if (line.trim() === '') continue
        try {
          await client.request('p2p', 'send_message', { peer, message: line })
        } catch (err: any) {
          io.err.write(`❌ ${err?.message}\n`)
        }
      }
    })()
    await Promise.race([typing, stopped])
  } else {
    await stopped
  }
  return 0
}
