import type { DownloadStatus } from '../downloads/status'
import { formatBytes, formatSpeed, type Lang } from '../messages'

export { formatBytes, formatSpeed }

/** `[██████░░░░]` for a percentage. */
export function bar (percent: number, width: number): string {
  const full = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width)
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`
}

/** One download on one line: name, bar, percentage, bytes, speed, sources, state. */
export function progressLine (s: DownloadStatus, columns = 100, lang: Lang = 'en'): string {
  const width = Math.max(10, Math.min(30, columns - 70))
  const name = s.filename.length > 28 ? `${s.filename.slice(0, 27)}…` : s.filename.padEnd(28)
  const amounts = `${formatBytes(s.bytes_downloaded, lang)}/${formatBytes(s.total_bytes, lang)}`
  return `${name} ${bar(s.progress, width)} ${s.progress.toFixed(1).padStart(5)}%  ${amounts.padEnd(17)} ${formatSpeed(s.download_speed, lang).padStart(10)}  ${s.peers_connected} src  ${s.status}`
}

/** A plain table: columns padded to their widest cell. */
export function table (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()
  return [line(header), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n')
}
