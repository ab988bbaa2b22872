/**
 * The shapes every benchmark suite shares. A suite is a module exporting
 * `run(ctx): Promise<Row[]>`; main.ts lists the suites, runs them one after
 * another and renders every row into one table.
 */

/** A target on a row: `of: 'ratio'` checks `ratio`, `of: 'value'` checks `value`. */
export interface Target {
  of: 'value' | 'ratio'
  op: '>=' | '<='
  limit: number
}

export interface Row {
  /** The suite's name (the file name under suites/). */
  suite: string
  /** What was measured, readable on its own. */
  name: string
  /** The median over the runs. */
  value: number
  unit: string
  /** Smallest and largest over the runs, when there were several. */
  range?: [number, number]
  runs?: number
  /** The baseline's median value, measured in the same run. */
  baseline?: number
  /** What the baseline is (`(b) bare libp2p stream`, …). */
  baselineName?: string
  /**
   * value / baseline. With runs, the median of the per-run ratios (each run
   * measures both side by side), so noise that hits a whole run cancels.
   */
  ratio?: number
  ratioRange?: [number, number]
  target?: Target
  met?: boolean
  /** A row that is not the product's defaults (a knob experiment, a diagnostic). */
  extra?: boolean
  notes?: string
}

export interface BenchContext {
  /** A fresh folder under the bench's temporary root (removed at the end, even on failure). */
  tempDir(prefix: string): Promise<string>
  /** One line of progress on stderr. */
  progress(message: string): void
  /** How many times each measurement is repeated. */
  runs: number
}

export interface Suite {
  name: string
  run(ctx: BenchContext): Promise<Row[]>
}

/** Whether `target` is met by a row's value or ratio (undefined when there is nothing to check). */
export function checkTarget (target: Target | undefined, row: Pick<Row, 'value' | 'ratio'>): boolean | undefined {
  if (target == null) return undefined
  const x = target.of === 'ratio' ? row.ratio : row.value
  if (x == null || !Number.isFinite(x)) return false
  return target.op === '>=' ? x >= target.limit : x <= target.limit
}
