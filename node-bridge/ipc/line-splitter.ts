export type LineEvent = { line: string } | { tooLong: number } | { badUtf8: true }

const NEWLINE = 0x0a

/**
 * Cuts a byte stream into lines of at most `maxBytes` (the newline and a
 * trailing `\r` not counted). A longer line is reported once, as soon as
 * it passes the limit, and its bytes are dropped up to the next newline:
 * memory stays bounded and the connection stays usable. Blank lines are
 * skipped.
 */
export class LineSplitter {
  private parts: Uint8Array[] = []
  private size = 0
  private discarding = false
  private readonly decoder = new TextDecoder('utf-8', { fatal: true })

  constructor (private readonly maxBytes: number) {}

  /** Bytes buffered for the line under way. */
  get buffered (): number {
    return this.size
  }

  push (chunk: Uint8Array): LineEvent[] {
    const out: LineEvent[] = []
    let start = 0
    while (start < chunk.byteLength) {
      const nl = chunk.indexOf(NEWLINE, start)
      const end = nl < 0 ? chunk.byteLength : nl
      const piece = chunk.subarray(start, end)
      if (!this.discarding) {
        this.parts.push(new Uint8Array(piece)) // a copy: the chunk's memory belongs to the socket
        this.size += piece.byteLength
        if (this.size > this.maxBytes + 1) this.overflow(out) // +1: a `\r` before the newline
      }
      if (nl < 0) break
      if (this.discarding) this.discarding = false
      else this.finish(out)
      start = nl + 1
    }
    return out
  }

  private overflow (out: LineEvent[]): void {
    out.push({ tooLong: this.size })
    this.parts = []
    this.size = 0
    this.discarding = true
  }

  private finish (out: LineEvent[]): void {
    let bytes = concat(this.parts, this.size)
    this.parts = []
    this.size = 0
    if (bytes.byteLength > 0 && bytes[bytes.byteLength - 1] === 0x0d) bytes = bytes.subarray(0, -1)
    if (bytes.byteLength > this.maxBytes) { out.push({ tooLong: bytes.byteLength }); return }
    let line: string
    try {
      line = this.decoder.decode(bytes)
    } catch {
      out.push({ badUtf8: true })
      return
    }
    if (line.trim() !== '') out.push({ line })
  }
}

function concat (parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array
  const out = new Uint8Array(size)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}
