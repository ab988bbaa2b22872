/**
 * What the service worker and the tab that owns a profile say to each other.
 *
 * The `<video>` element of a tab plays `/stream/<profile>/<contentId>`. The
 * service worker answers from that profile's IndexedDB (`idbName(profile)`).
 * For a chunk it lacks, it posts a `SwRequest` with a MessagePort for the
 * answer to the window that made the request (`FetchEvent.clientId`); if that
 * window answers 421 (it holds another profile) or is not a window, to every
 * other window of the origin at once, the first `{ ok: true }` winning. The
 * tab that holds the profile fetches the chunk at top priority, stores it
 * (verified) and replies `{ ok: true }`, after which the service worker reads
 * it from IndexedDB.
 *
 * The service worker keeps nothing in globals that it cannot rebuild.
 */

/** Tag on every message, so other traffic on the channel is ignored. */
export const SW_TAG = 'pipbingo/sw/1'

export type SwRequest =
  /** Fetch chunk `index` of a content at top priority; answer once it is in IndexedDB. */
  | { tag: typeof SW_TAG, type: 'chunk', profile: string, contentId: string, index: number }
  /** Make sure the content's manifest is in IndexedDB (fetch it from the relay if needed). */
  | { tag: typeof SW_TAG, type: 'manifest', profile: string, contentId: string }

export type SwReply =
  | { ok: true }
  | { ok: false, error: string, status: number }

/** The IndexedDB database of a profile. */
export function idbName (profile: string): string {
  return `pipbingo-${profile}`
}

/** Profiles are `p0`, `p1`, …: one per tab open at once (Web Locks). */
export const PROFILE_PATTERN = /^p\d{1,3}$/

/** The URL a `<video>` element plays for a content of a profile. */
export function streamUrl (profile: string, contentId: string): string {
  return `/stream/${profile}/${contentId}`
}

/** How long the service worker waits for the tab before failing a request. */
export const SW_CHUNK_TIMEOUT_MS = 20_000

/** How long the tab tries before answering an error: a little less, so its reason arrives first. */
export const TAB_CHUNK_TIMEOUT_MS = SW_CHUNK_TIMEOUT_MS - 2_000

/** The largest 206 the service worker sends at once: the browser asks again for the rest. */
export const SW_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
