/** How a lost or unreachable peer relay is dialled again. */
export interface RedialPolicy {
  /** The wait before the first attempt after a loss; doubled after each failure. */
  minMs: number
  /** The longest wait between attempts. */
  maxMs: number
}

export const DEFAULT_REDIAL: RedialPolicy = { minMs: 1000, maxMs: 60_000 }

/**
 * The wait before the next dial, after `failures` failed attempts in a row:
 * `minMs`, doubled per failure, at most `maxMs`; a quarter of it drawn at
 * random (`random` in [0, 1)) so that relays that lost each other at once do
 * not all redial in step.
 */
export function redialDelayMs (failures: number, policy: RedialPolicy, random = 0.5): number {
  const base = Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(Math.max(failures, 0), 30))
  return Math.round(base * (0.75 + random * 0.25))
}
