import { SW_CHUNK_TIMEOUT_MS, SW_MAX_RESPONSE_BYTES } from '../peer/sw-protocol'

export interface SwConfig {
  /** How long to wait for the tab (SW_CHUNK_TIMEOUT_MS). */
  chunkTimeoutMs: number
  /** The largest 206 body (SW_MAX_RESPONSE_BYTES). */
  maxResponseBytes: number
}

/**
 * The service worker's settings, from its own script URL: production
 * registers plain `/sw.js` and gets the defaults; tests register
 * `/sw.js?chunkTimeoutMs=1500&maxResponseBytes=524288`. Being part of the
 * URL, the settings survive every restart of the worker with no state kept.
 * A value that is not a number in bounds is ignored.
 */
export function swConfig (search: string): SwConfig {
  const params = new URLSearchParams(search)
  return {
    chunkTimeoutMs: bounded(params.get('chunkTimeoutMs'), 50, 600_000) ?? SW_CHUNK_TIMEOUT_MS,
    maxResponseBytes: bounded(params.get('maxResponseBytes'), 16 * 1024, 1024 ** 3) ?? SW_MAX_RESPONSE_BYTES
  }
}

function bounded (value: string | null, min: number, max: number): number | undefined {
  if (value == null || !/^\d{1,10}$/.test(value)) return undefined
  const n = Number(value)
  return n >= min && n <= max ? n : undefined
}
