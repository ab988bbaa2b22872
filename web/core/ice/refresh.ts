/** Without TURN credentials (nothing expires), the relay's servers are asked for again this often: a changed configuration reaches long-lived peers. */
export const ICE_REFRESH_WITHOUT_TTL_MS = 60 * 60_000

/**
 * When a peer should ask the relay again for its ICE servers, from when it
 * got them (its own clock: the relay's may differ) and their lifetime: at
 * half of it, so a connection made with them has at least half left (a TURN
 * allocation is refreshed with the credential it was made with, and fails
 * once that expired).
 */
export function iceRefreshAt (fetchedAt: number, ttlSeconds: number | null): number {
  return fetchedAt + (ttlSeconds == null ? ICE_REFRESH_WITHOUT_TTL_MS : ttlSeconds * 1000 / 2)
}

/** When credentials got at `fetchedAt` stop working (Infinity: none expire). */
export function iceExpiresAt (fetchedAt: number, ttlSeconds: number | null): number {
  return ttlSeconds == null ? Infinity : fetchedAt + ttlSeconds * 1000
}
