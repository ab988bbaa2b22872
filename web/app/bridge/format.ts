import { formatRate } from '../format'
import type { DownloadStatusWord } from './schemas'

const WORDS: Record<DownloadStatusWord, string> = {
  queued: 'Waiting for a free slot',
  downloading: 'Downloading',
  completed: 'Saved',
  seeding: 'Saved, sharing',
  failed: 'Failed',
  cancelled: 'Cancelled'
}

/** A download's state in words. */
export function statusWord (status: DownloadStatusWord): string {
  return WORDS[status]
}

/** The bridge's `progress` (0–100, two decimals) as a whole percent; 100 only when done. */
export function wholePercent (progress: number): number {
  return progress >= 100 ? 100 : Math.max(0, Math.min(99, Math.floor(progress)))
}

/** The bridge's speeds are KB/s with 1 KB = 1024 B; shown like the app's other rates. */
export function formatSpeed (kilobytesPerSecond: number): string {
  return formatRate(kilobytesPerSecond * 1024)
}
