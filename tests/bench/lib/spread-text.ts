import type { Spread } from './stats'

/** `median (min–max)` with a fixed number of decimals, or just the median when every run agreed. */
export function spreadText (x: Spread, digits: number): string {
  return x.min === x.max ? x.median.toFixed(digits) : `${x.median.toFixed(digits)} (${x.min.toFixed(digits)}–${x.max.toFixed(digits)})`
}
