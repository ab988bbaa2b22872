import type { DownloadStatus } from '../downloads/status'
import { progressLine } from './format'
import type { Lang } from '../messages'

export interface Output {
  write(text: string): void
  isTTY?: boolean
  columns?: number
}

/** Download states after which nothing more happens (`completed` is a moment: `seeding` follows at once). */
const FINAL = new Set(['seeding', 'failed', 'cancelled'])

export function isFinal (s: DownloadStatus): boolean {
  return FINAL.has(s.status)
}

/**
 * Live progress bars, one line per download. On a terminal the block of
 * bars is redrawn in place (cursor up, clear line); elsewhere (a pipe, a
 * log file) a plain line is written when a download changes state or
 * passes another tenth, so the output stays short and greppable.
 */
export class ProgressView {
  private readonly rows = new Map<string, DownloadStatus>()
  private drawn = 0
  private readonly tenths = new Map<string, string>()

  constructor (private readonly out: Output, private readonly lang: Lang = 'en') {}

  update (s: DownloadStatus): void {
    this.rows.set(s.filename, s)
    if (this.out.isTTY === true) {
      this.redraw()
      return
    }
    const key = `${s.status}:${Math.floor(s.progress / 10)}`
    if (this.tenths.get(s.filename) === key) return
    this.tenths.set(s.filename, key)
    this.out.write(`${progressLine(s, 120, this.lang)}\n`)
  }

  private redraw (): void {
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : ''
    for (const s of this.rows.values()) text += `\r\x1b[2K${progressLine(s, this.out.columns ?? 100, this.lang)}\n`
    this.drawn = this.rows.size
    this.out.write(text)
  }
}
