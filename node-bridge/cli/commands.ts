import type { ApiClient } from './client'
import { CliError } from './errors'
import { failedLine } from '../downloads/console-log'
import { follow } from './follow'
import { formatBytes, formatSpeed, table } from './format'
import { messages, type Lang } from '../messages'
import { ProgressView, type Output } from './progress'

export interface CommandContext {
  client: ApiClient
  out: Output
  /** Print JSON as the API answered it, for scripts. */
  json: boolean
  /** `download`: return once the daemon has the request, without following the progress. */
  detach: boolean
  signal?: AbortSignal
  /** The language of tables and lines (English by default). */
  lang?: Lang
}

const print = (ctx: CommandContext, text: string): void => { ctx.out.write(`${text}\n`) }

/** `pipbingo download <file>…`: ask, then draw each download's bar until it seeds (or fails). */
export async function download (ctx: CommandContext, files: string[]): Promise<number> {
  if (files.length === 0) throw new CliError(messages(ctx.lang ?? 'en').cli.whichFile('download'), undefined, 2)
  for (const file of files) {
    const reply = await ctx.client.download(file)
    if (ctx.json) print(ctx, JSON.stringify(reply))
    else print(ctx, `${file}: ${reply.status} — ${reply.message}`)
  }
  if (ctx.detach || ctx.json) return 0
  const last = await follow(ctx.client, new ProgressView(ctx.out, ctx.lang), { names: files, signal: ctx.signal })
  const failed = files.filter(f => last[f]?.status === 'failed' || last[f]?.status === 'cancelled')
  // why in words, as the daemon's console says it (a full disk, no source), in the CLI's language
  for (const f of failed) print(ctx, last[f]?.status === 'failed' ? failedLine(last[f], ctx.lang) : `❌ ${f}: ${last[f]?.status}`)
  for (const f of files.filter(f => !failed.includes(f))) print(ctx, messages(ctx.lang ?? 'en').cliSeeding(f))
  return failed.length === 0 ? 0 : 1
}

/** `pipbingo status`: every download, one line each. */
export async function status (ctx: CommandContext): Promise<number> {
  const map = await ctx.client.status()
  if (ctx.json) { print(ctx, JSON.stringify(map, null, 2)); return 0 }
  const lang = ctx.lang ?? 'en'
  const m = messages(lang)
  const rows = Object.values(map).map(s => [
    // what a person reads first: the catalogue's title (an upload's original name), then the file's name
    s.title != null && s.title !== s.filename ? `${s.title} (${s.filename})` : s.filename, s.status, `${s.progress.toFixed(1)}%`, `${formatBytes(s.bytes_downloaded, lang)}/${formatBytes(s.total_bytes, lang)}`,
    formatSpeed(s.download_speed, lang), String(s.peers_connected), s.completed_at ?? s.started_at ?? '-'
  ])
  print(ctx, rows.length === 0 ? m.cliNoDownloads : table(m.cliStatusHeader, rows))
  return 0
}

/** `pipbingo stats`: the daemon's counters. */
export async function stats (ctx: CommandContext): Promise<number> {
  const s = await ctx.client.stats()
  if (ctx.json) { print(ctx, JSON.stringify(s, null, 2)); return 0 }
  const lang = ctx.lang ?? 'en'
  const m = messages(lang).cliStats
  const rows: Array<[string, string]> = [
    [m.peerId, s.peer_id],
    [m.relay, `${s.relay_connected ? m.connected : m.disconnected}${s.relay != null ? ` (${s.relay})` : ''}`],
    [m.peers, String(s.connected_peers)],
    [m.files, m.fileCounts(s.cache_files, s.seeding_files, s.downloading_files, s.queued_files)],
    [m.fromPeers, formatBytes(s.bytes_from_peers, lang)],
    [m.fromOrigin, `${formatBytes(s.bytes_from_origin, lang)} (${m.ofWhichHttp(formatBytes(s.bytes_from_http, lang))})`],
    [m.uploaded, formatBytes(s.bytes_uploaded, lang)],
    [m.speed, `↓ ${formatSpeed(s.download_speed, lang)}  ↑ ${formatSpeed(s.upload_speed, lang)}`]
  ]
  const width = Math.max(...rows.map(([label]) => label.length)) + 2
  print(ctx, rows.map(([label, value]) => `${label.padEnd(width)}${value}`).join('\n'))
  return 0
}

/** `pipbingo ls`: the relay's catalogue, cached files marked. */
export async function ls (ctx: CommandContext): Promise<number> {
  const entries = await ctx.client.list()
  if (ctx.json) { print(ctx, JSON.stringify(entries, null, 2)); return 0 }
  const lang = ctx.lang ?? 'en'
  const rows = entries.map(e => [e.cached ? '●' : ' ', e.filename, formatBytes(e.size, lang), e.title ?? ''])
  print(ctx, rows.length === 0 ? messages(lang).cliEmptyCatalogue : table(messages(lang).cliListHeader, rows))
  return 0
}

/** `pipbingo cancel <file>`: stop a download and delete its partial file. */
export async function cancel (ctx: CommandContext, files: string[]): Promise<number> {
  if (files.length === 0) throw new CliError(messages(ctx.lang ?? 'en').cli.whichFile('cancel'), undefined, 2)
  for (const file of files) {
    const reply = await ctx.client.cancel(file)
    print(ctx, ctx.json ? JSON.stringify(reply) : `${file}: ${reply.status} — ${reply.message}`)
  }
  return 0
}

/** `pipbingo watch`: the bars of every download under way, until they are all done. */
export async function watch (ctx: CommandContext): Promise<number> {
  await follow(ctx.client, new ProgressView(ctx.out, ctx.lang), { signal: ctx.signal })
  return 0
}
