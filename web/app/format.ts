/** Numbers as a person reads them. Sizes in decimal units (MB = 10⁶ B), like the browser's downloads page. */

export function formatBytes (bytes: number): string {
  if (!Number.isFinite(bytes)) return '—'
  if (bytes < 1e3) return `${Math.round(bytes)} B`
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(0)} kB`
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`
  return `${(bytes / 1e9).toFixed(2)} GB`
}

export function formatRate (bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`
}

export function formatDuration (seconds: number | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return ''
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

export function percent (part: number, whole: number): number {
  return whole <= 0 ? 0 : Math.min(100, Math.round((100 * part) / whole))
}

/** The end of a peer id, enough to tell peers apart on screen. */
export function shortId (peerId: string): string {
  return `…${peerId.slice(-8)}`
}
