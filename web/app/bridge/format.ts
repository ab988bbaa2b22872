import type { DownloadStatusWord } from './schemas'

const WORDS: Record<DownloadStatusWord, string> = {
  queued: 'Waiting for a free slot',
  downloading: 'Downloading',
  completed: 'Saved',
  seeding: 'Saved, sharing with peers',
  failed: 'Failed',
  cancelled: 'Cancelled'
}

/** A download's state in words. */
export function statusWord (status: DownloadStatusWord): string {
  return WORDS[status]
}

/** The bridge's `progress` (0–100, two decimals) as a whole percent; 100 only when done. */
export function percent (progress: number): number {
  return progress >= 100 ? 100 : Math.min(99, Math.floor(progress))
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB']

/** Bytes in 1024s, one decimal below 100: `11.0 MB`. */
export function formatBytes (bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit++ }
  return `${unit === 0 || value >= 100 ? Math.round(value) : value.toFixed(1)} ${UNITS[unit]}`
}

/** The bridge's speeds are KB/s with 1 KB = 1024 B. */
export function formatSpeed (kilobytesPerSecond: number): string {
  return `${formatBytes(kilobytesPerSecond * 1024)}/s`
}
