/** Small statistics over repeated runs. */

export interface Spread {
  median: number
  min: number
  max: number
  runs: number
}

export function spread (samples: readonly number[]): Spread {
  if (samples.length === 0) throw new RangeError('no samples')
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length }
}

/** MB/s with MB = 10^6 bytes. */
export function megabytesPerSecond (bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000)
}

export const MiB = 1024 * 1024

/** Element-wise a[i] / b[i]: ratios of measurements taken side by side in the same run. */
export function pairedRatios (a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError('paired samples differ in length')
  return a.map((x, i) => x / b[i]!)
}

/** The nearest-rank percentile `p` (0–100) of `samples`. */
export function percentile (samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError('no samples')
  const sorted = [...samples].sort((x, y) => x - y)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]!
}
