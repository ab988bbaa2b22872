import type { Row, Target } from './types'

/** A number with as many decimals as its size deserves: 1234, 123, 12.3, 1.23. */
export function formatNumber (x: number): string {
  if (!Number.isFinite(x)) return String(x)
  const a = Math.abs(x)
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function withRange (x: number, range: [number, number] | undefined): string {
  if (Number.isNaN(x)) return '—'
  if (range == null || range[0] === range[1]) return formatNumber(x)
  return `${formatNumber(x)} (${formatNumber(range[0])}–${formatNumber(range[1])})`
}

function formatTarget (t: Target | undefined): string {
  if (t == null) return ''
  return `${t.of} ${t.op === '>=' ? '≥' : '≤'} ${formatNumber(t.limit)}`
}

function formatMet (met: boolean | undefined): string {
  if (met == null) return ''
  return met ? 'yes' : '**NO**'
}

const HEADERS = ['#', 'suite', 'measurement', 'value: median (min–max)', 'unit', 'baseline', 'ratio: median (min–max)', 'target', 'met']

function cells (row: Row, n: number): string[] {
  return [
    String(n),
    row.suite,
    row.extra === true ? `${row.name} *(extra)*` : row.name,
    withRange(row.value, row.range),
    row.unit,
    row.baseline == null ? '' : `${formatNumber(row.baseline)}${row.baselineName != null ? ` = ${row.baselineName}` : ''}`,
    row.ratio == null ? '' : withRange(row.ratio, row.ratioRange),
    formatTarget(row.target),
    formatMet(row.met)
  ]
}

const escape = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

/**
 * The rows as a Markdown table (padded, so it reads in a terminal too),
 * followed by each row's notes as a numbered list keyed by the `#` column.
 */
export function renderTable (rows: readonly Row[]): string {
  const body = rows.map((r, i) => cells(r, i + 1).map(escape))
  const widths = HEADERS.map((h, c) => Math.max(h.length, ...body.map(b => [...b[c]!].length)))
  const line = (cols: string[]): string => `| ${cols.map((s, c) => s + ' '.repeat(widths[c]! - [...s].length)).join(' | ')} |`
  const out = [line(HEADERS), `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)]
  const notes = rows.map((r, i) => r.notes == null ? undefined : `${i + 1}. ${r.notes}`).filter((s): s is string => s != null)
  if (notes.length > 0) out.push('', 'Notes:', '', ...notes)
  return out.join('\n')
}
