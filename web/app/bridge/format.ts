import { formatRate } from '../format'
import type { BridgeDownload, DownloadStatusWord } from './schemas'

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

/** A download's state in words, with what a queued one waits for and why a failed one failed. */
export function stateWords (d: Pick<BridgeDownload, 'status' | 'error_code' | 'waiting_for'>): string {
  if (d.status === 'queued' && d.waiting_for === 'source') return 'Looking for someone who has it'
  if (d.status === 'failed' && d.error_code === 'disk_full') return 'Failed: the disk is full'
  if (d.status === 'failed' && d.error_code === 'no_source') return 'Failed: nobody has it'
  return WORDS[d.status]
}

/** Why a failed download failed, and what to do, for a person; undefined when it did not fail. */
export function failureWords (d: Pick<BridgeDownload, 'status' | 'error_code' | 'error'>): string | undefined {
  if (d.status !== 'failed') return undefined
  switch (d.error_code) {
    case 'disk_full': return 'The disk holding the bridge\'s cache is full. What was saved is kept: free some space and save it again, it resumes from there.'
    case 'no_source': return 'No peer and not the server has this video right now. Save it again once someone shares it.'
    default: return d.error ?? undefined
  }
}

/** The bridge's `progress` (0–100, two decimals) as a whole percent; 100 only when done. */
export function wholePercent (progress: number): number {
  return progress >= 100 ? 100 : Math.max(0, Math.min(99, Math.floor(progress)))
}

/** The bridge's speeds are KB/s with 1 KB = 1024 B; shown like the app's other rates. */
export function formatSpeed (kilobytesPerSecond: number): string {
  return formatRate(kilobytesPerSecond * 1024)
}
