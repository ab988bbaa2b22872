import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { CliError } from './errors'
import { formatBytes, table } from './format'
import { IpcClient, type IpcEvent } from './ipc-client'
import type { Output } from './progress'
import { LANGS, langFromArgs, messages, type Lang } from '../messages'

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
export function describeEvent (e: IpcEvent, lang: Lang = 'en'): string | undefined {
  const d = e.data
  const m = messages(lang).cli
  const at = `[${clock(d.timestamp)}]`
  switch (e.event) {
    case 'p2p_message_received': return `${at} ${d.peer}: ${d.message}${e.meta?.encrypted === true ? ' 🔒' : ''}`
    case 'file_received': return `${at} ${m.received(d.peer, d.file_name, formatBytes(d.size, lang), d.path ?? d.saved_as)}${d.encrypted === true ? ' 🔒' : ''}`
    case 'file_failed': return `${at} ${m.fileFailed(d.file_name, d.direction === 'in', d.peer, d.error)}`
    case 'file_progress': return `   ${d.direction === 'in' ? '↓' : '↑'} ${d.file_name} ${Math.floor(d.percent)}% (${formatBytes(d.bytes, lang)}/${formatBytes(d.total, lang)})`
    case 'peer_joined': return `${at} ${m.joined(d.peer)}`
    case 'peer_left': return `${at} ${m.left(d.peer)}`
    case 'keys_negotiated': return `${at} ${m.keysNegotiatedWith(d.peer, d.fingerprint)}`
    case 'p2p_status': return `${at} ${m.p2pRunning(d.running === true)}`
    default: return undefined
  }
}

/** How many arguments each command needs at least. */
const REQUIRED: Record<string, number> = { send: 2, file: 2, keys: 1, with: 1 }

/** `pipbingo chat …`; returns the exit code. */
export async function runChat (argv: string[], io: ChatIo): Promise<number> {
  const lang = langFromArgs(argv, io.env)
  const m = messages(lang).cli
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { ipc: { type: 'string' }, 'chunk-size': { type: 'string' }, json: { type: 'boolean' }, lang: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (err: any) {
    io.err.write(`${err.message}\n\n${m.chatUsage}\n`)
    return 2
  }
  const { values, positionals: [command, ...rest] } = parsed
  if (values.lang != null && !(LANGS as readonly string[]).includes(values.lang)) {
    io.err.write(`${m.badLang(values.lang, LANGS.join(', '))}\n`)
    return 2
  }
  if (values.help === true || command == null) {
    io.out.write(`${m.chatUsage}\n`)
    return command == null && values.help !== true ? 2 : 0
  }
  const print = (text: string): void => { io.out.write(`${text}\n`) }
  // the arguments a command needs, checked before the IPC is dialled; its usage line is the one of the chat's usage
  const needs = REQUIRED[command] ?? 0
  if (rest.length < needs) {
    const line = m.chatUsage.split('\n').find(l => l.startsWith(`  ${command} `))?.trim().split(/\s{2,}/)[0] ?? command
    io.err.write(`❌ ${m.usageOf(`chat ${line}`)}\n`)
    return 2
  }
  let client: IpcClient | undefined
  try {
    client = await IpcClient.connect(values.ipc ?? io.env.PIPBINGO_IPC ?? '127.0.0.1:8889', io.signal, lang)
    const show = (data: unknown, text: () => string): void => { print(values.json === true ? JSON.stringify(data, null, 2) : text()) }
    switch (command) {
      case 'send': {
        const data = await client.request('p2p', 'send_message', { peer: rest[0], message: rest.slice(1).join(' ') })
        show(data, () => `✓ ${String(data)}`)
        return 0
      }
      case 'file': {
        const chunk = values['chunk-size'] == null ? undefined : Number(values['chunk-size'])
        const pass = everyTenth()
        const off = client.onEvent(e => { if (e.event === 'file_progress' && values.json !== true && pass(e)) print(describeEvent(e, lang) as string) })
        await client.request('status', 'subscribe', { events: ['file_progress'] })
        const data = await client.request('p2p', 'send_file', { peer: rest[0], file_path: resolve(rest[1] as string), ...(chunk != null ? { chunk_size: chunk } : {}) })
        off()
        show(data, () => `${m.sent(data.file_name, data.peer, formatBytes(data.size, lang), data.sha256.slice(0, 16))}${data.encrypted === true ? ' 🔒' : ''}`)
        return 0
      }
      case 'peers': {
        const data = await client.request('p2p', 'peers')
        show(data, () => data.length === 0 ? m.noPeer : table(m.peersHeader, data.map((p: any) => [p.contact ?? p.name ?? '-', p.peer_id, clock(p.connected_since), p.encrypted === true ? m.yes : ''])))
        return 0
      }
      case 'contacts': {
        const data = await client.request('contacts', 'list')
        show(data, () => data.length === 0 ? m.noContact : table(m.contactsHeader, data.map((c: any) => [c.name, c.peer_id ?? '-', c.keys_negotiated === true ? m.negotiated : (c.public_key_valid === true ? m.pinned : '-'), c.fingerprint ?? ''])))
        return 0
      }
      case 'keys': {
        const data = await client.request('contacts', 'negotiate_keys', { peer: rest[0] })
        show(data, () => m.keysNegotiated(data.peer, data.algorithm, data.fingerprint))
        return 0
      }
      case 'listen':
      case 'with':
        return await converse(client, command === 'with' ? rest[0] : undefined, io, values.json === true, lang)
      default:
        io.err.write(`${m.unknownChatCommand(command)}\n\n${m.chatUsage}\n`)
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
async function converse (client: IpcClient, peer: string | undefined, io: ChatIo, json: boolean, lang: Lang): Promise<number> {
  const print = (text: string): void => { io.out.write(`${text}\n`) }
  const pass = everyTenth()
  client.onEvent(e => {
    if (json) { print(JSON.stringify(e)); return }
    if (!pass(e)) return
    const line = describeEvent(e, lang)
    if (line != null) print(line)
  })
  await client.request('status', 'subscribe', null)
  const status = await client.request('status', null)
  if (!json) print(`💬 ${status.name} (${status.peer_id}) — ${peer == null ? messages(lang).cli.listening : messages(lang).cli.talkingTo(peer)}`)
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
