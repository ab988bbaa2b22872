/**
 * What to send for a `Range` request header (RFC 9110 §14.2), for a
 * representation of `size` bytes (size ≥ 1):
 *
 * - `full`: no header, a unit other than `bytes`, a header that does not
 *   parse (ignored, as the RFC says), or more than one range — we never
 *   answer `multipart/byteranges`; a 200 with the whole body is always allowed;
 * - `partial`: one satisfiable range, clamped to the file: `a-b`, `a-`, `-n`
 *   (a suffix longer than the file is the whole file, still a 206);
 * - `unsatisfiable`: one range that selects nothing: `a-` or `a-b` with
 *   a ≥ size, or the suffix `-0`. Answer 416 with `Content-Range: bytes <star>/<size>`.
 */
export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial', start: number, end: number }
  | { kind: 'unsatisfiable' }

const FULL: RangeDecision = { kind: 'full' }

/** Longest header we look at; a longer one is ignored. */
const MAX_RANGE_HEADER = 1024

export function decideRange (header: string | undefined, size: number): RangeDecision {
  if (header == null || header.length > MAX_RANGE_HEADER) return FULL
  const eq = header.indexOf('=')
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return FULL
  // range-set = 1#range-spec: a list, where empty elements and OWS around commas are allowed
  const specs = header.slice(eq + 1).split(',').map(s => s.trim()).filter(s => s !== '')
  if (specs.length !== 1) return FULL
  const match = /^(\d*)-(\d*)$/.exec(specs[0] as string)
  if (match == null) return FULL
  const [, first = '', last = ''] = match

  if (first === '') {
    if (last === '') return FULL // "-" alone is not a range
    const suffix = toNumber(last)
    if (suffix === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = toNumber(first)
  if (last !== '') {
    const end = toNumber(last)
    if (end < start) return FULL // invalid: the RFC says to ignore the header
    if (start >= size) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start, end: Math.min(end, size - 1) }
  }
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end: size - 1 }
}

/** Decimal digits to a number; beyond 2^53 the exact value no longer matters (it is past any file). */
function toNumber (digits: string): number {
  const n = Number(digits)
  return Number.isSafeInteger(n) ? n : Number.MAX_SAFE_INTEGER
}

/** The status, byte span and headers of an answer to a range decision. */
export type RangeReply =
  | { status: 200 | 206, start: number, end: number, headers: Record<string, string> }
  | { status: 416, headers: Record<string, string> }

/**
 * What a server sends for a decision on a representation of `size` bytes:
 * 200 or 206 with the inclusive span `[start, end]`, `Content-Length` and (for
 * 206) `Content-Range`; or 416 with `Content-Range: bytes <star>/<size>`.
 */
export function rangeReply (decision: RangeDecision, size: number): RangeReply {
  if (decision.kind === 'unsatisfiable') return { status: 416, headers: { 'Content-Range': `bytes */${size}` } }
  const start = decision.kind === 'partial' ? decision.start : 0
  const end = decision.kind === 'partial' ? decision.end : size - 1
  const headers: Record<string, string> = { 'Content-Length': String(end - start + 1) }
  if (decision.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end}/${size}`
  return { status: decision.kind === 'partial' ? 206 : 200, start, end, headers }
}
