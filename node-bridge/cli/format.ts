import type { DownloadStatus } from '../downloads/status'

/** Bytes in the seed's units (Ko, Mo, Go; 1 Ko = 1024 octets). */
export function formatBytes (bytes: number): string {
  if (bytes < 1024) return `${bytes} o`
  const units = ['Ko', 'Mo', 'Go', 'To']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit] as string}`
}

/** `[██████░░░░]` for a percentage. */
export function bar (percent: number, width: number): string {
  const full = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width)
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`
}

/** One download on one line: name, bar, percentage, bytes, speed, sources, state. */
export function progressLine (s: DownloadStatus, columns = 100): string {
  const width = Math.max(10, Math.min(30, columns - 70))
  const name = s.filename.length > 28 ? `${s.filename.slice(0, 27)}…` : s.filename.padEnd(28)
  const amounts = `${formatBytes(s.bytes_downloaded)}/${formatBytes(s.total_bytes)}`
  return `${name} ${bar(s.progress, width)} ${s.progress.toFixed(1).padStart(5)}%  ${amounts.padEnd(17)} ${s.download_speed.toFixed(2).padStart(9)} Ko/s  ${s.peers_connected} src  ${s.status}`
}

/** A plain table: columns padded to their widest cell. */
export function table (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()
  return [line(header), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n')
}
