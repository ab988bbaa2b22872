import type { FailureCode } from './errors'
import type { DownloadState } from './states'

/**
 * One entry of `GET /status` (the seed's contract: these field names, these
 * units), plus a few extras a UI can use. Speeds are KB/s with 1 KB = 1024 B.
 */
export interface DownloadStatus {
  filename: string
  status: DownloadState
  /** Percentage 0–100 of the bytes held, two decimals. */
  progress: number
  bytes_downloaded: number
  total_bytes: number
  /** Sources that delivered chunks to this download (peers, the origin's node, the origin over HTTP). */
  peers_connected: number
  /** KB/s: a moving average over the last 5 s while downloading; the average of the whole download once done. */
  download_speed: number
  /** ISO 8601 UTC; null while queued. For files found in the cache at start-up: the file's modification time. */
  started_at: string | null
  /** ISO 8601 UTC; null until done. */
  completed_at: string | null
  // extras
  /** What a person reads: the catalogue's title (an upload's original name), null when unknown (a file found in the cache). */
  title: string | null
  content_id: string | null
  chunks_downloaded: number
  chunks_total: number
  /** Verified bytes from other peers (this run). */
  bytes_from_peers: number
  /** Verified bytes from the origin: its libp2p node and HTTP (this run). */
  bytes_from_origin: number
  /** Why it failed, when `status` is `failed` (English, for a person). */
  error: string | null
  /** Why it failed, in a word (`disk_full`, `no_source`, `other`), when `status` is `failed`. */
  error_code: FailureCode | null
  /**
   * What a `queued` download waits for: `source` (no peer or origin is known
   * to have it yet; it holds no download slot meanwhile) or `slot` (every
   * slot is busy). Null in the other states.
   */
  waiting_for: 'source' | 'slot' | null
}

/** ISO 8601 UTC to the second, like the seed: `2025-11-21T10:45:00Z`. */
export function isoSeconds (date: Date | undefined): string | null {
  return date == null ? null : date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
