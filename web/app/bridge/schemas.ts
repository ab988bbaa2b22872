import * as z from 'zod/mini'

/**
 * The local bridge's REST replies (`docs/contracts/rest-9090.md`,
 * `node-bridge/README.md`), parsed at the edge. The seed's fields are
 * required; the bridge's extras are optional; unknown fields are dropped,
 * so a newer bridge still parses.
 */

export const DOWNLOAD_STATUSES = ['queued', 'downloading', 'completed', 'seeding', 'failed', 'cancelled'] as const
export type DownloadStatusWord = typeof DOWNLOAD_STATUSES[number]

const count = z.number().check(z.nonnegative())

/** One entry of `GET /status`, also the data of an SSE `progress` event. */
export const bridgeDownloadSchema = z.object({
  filename: z.string().check(z.minLength(1)),
  status: z.enum(DOWNLOAD_STATUSES),
  /** 0–100. */
  progress: z.number().check(z.gte(0), z.lte(100)),
  bytes_downloaded: count,
  total_bytes: count,
  peers_connected: count,
  /** KB/s (1 KB = 1024 B). */
  download_speed: count,
  started_at: z.nullish(z.string()),
  completed_at: z.nullish(z.string()),
  content_id: z.nullish(z.string()),
  /** The catalogue's title (an upload's original name); null when the bridge does not know it. */
  title: z.nullish(z.string()),
  bytes_from_peers: z.optional(count),
  bytes_from_origin: z.optional(count),
  error: z.nullish(z.string()),
  /** Why it failed, in a word: `disk_full`, `no_source`, `other` (older bridges: absent). */
  error_code: z.nullish(z.string()),
  /** What a queued download waits for: `source` (nobody is known to have it yet) or `slot`. */
  waiting_for: z.nullish(z.string())
})
export type BridgeDownload = z.infer<typeof bridgeDownloadSchema>

/** `GET /stats`: the seed's five fields, then the bridge's extras. */
export const bridgeStatsSchema = z.object({
  peer_id: z.string(),
  connected_peers: count,
  seeding_files: count,
  downloading_files: count,
  cache_files: count,
  queued_files: z.optional(count),
  relay_connected: z.optional(z.boolean()),
  bytes_from_peers: z.optional(count),
  bytes_from_origin: z.optional(count),
  bytes_uploaded: z.optional(count),
  /** KB/s over the last 4 s. */
  download_speed: z.optional(count),
  upload_speed: z.optional(count)
})
export type BridgeStats = z.infer<typeof bridgeStatsSchema>

/** SSE `state`: `{ from, to, status, resumed }`. */
export const stateEventSchema = z.object({
  to: z.enum(DOWNLOAD_STATUSES),
  status: bridgeDownloadSchema
})

/** `POST /download` 200: the download's `/status` entry is in `download`. */
export const downloadReplySchema = z.object({
  status: z.string(),
  download: z.optional(bridgeDownloadSchema)
})

/** Every error of the bridge: `{ "error": "..." }`. */
export const errorReplySchema = z.object({ error: z.string() })

/**
 * `GET /status` (and the SSE `snapshot`): an object keyed by filename.
 * An entry that does not parse is left out rather than losing the others.
 * Throws when the reply is not an object at all.
 */
export function parseStatus (body: unknown): BridgeDownload[] {
  const entries = z.record(z.string(), z.unknown()).parse(body)
  const downloads: BridgeDownload[] = []
  for (const value of Object.values(entries)) {
    const parsed = bridgeDownloadSchema.safeParse(value)
    if (parsed.success) downloads.push(parsed.data)
  }
  return downloads
}

/** `GET /token`: the bridge's API token, for the app's own pages. */
export const tokenReplySchema = z.object({ token: z.string().check(z.regex(/^[0-9a-f]{64}$/)) })
