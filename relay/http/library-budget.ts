import { statfs } from 'node:fs/promises'
import type { CatalogueEntry } from '../library/index'
import { InsufficientStorageError } from './errors'

/** The defaults (relay/config.ts's `--max-library-bytes` starts from the first). */
export const LIBRARY_BUDGET_DEFAULTS = {
  /** The most the library's videos may take, uploads under way included. */
  maxBytes: 20 * 1024 ** 3,
  /** Room an upload must leave free on the library's filesystem, whatever the budget says. */
  minFreeBytes: 1024 ** 3
}

export interface LibraryBudgetInit {
  maxBytes: number
  minFreeBytes?: number
  /** Bytes the library's videos take now. */
  used(): number
  /** Free bytes on the library's filesystem (default: statfs of `dir`). */
  free?(): Promise<number>
  /** The library folder (for the default `free`). */
  dir: string
}

/** One upload's room in the budget. */
export interface Reservation {
  /** `total` bytes received so far; throws InsufficientStorageError once they no longer fit. */
  received(total: number): void
  /** The upload is over (placed in the library, which now counts it, or removed). */
  release(): void
}

/**
 * The disk budget of `library/` for uploads: what the library's videos take
 * (`used`) plus what uploads under way have reserved must stay within
 * `maxBytes`, and an upload must leave `minFreeBytes` free on the disk.
 * An upload reserves its declared length (Content-Length) before its body
 * is read, and grows its reservation as bytes come past it.
 */
export class LibraryBudget {
  private reserved = 0
  private readonly minFreeBytes: number
  private readonly free: () => Promise<number>

  constructor (private readonly init: LibraryBudgetInit) {
    this.minFreeBytes = init.minFreeBytes ?? LIBRARY_BUDGET_DEFAULTS.minFreeBytes
    this.free = init.free ?? (async () => {
      const s = await statfs(init.dir)
      return s.bavail * s.bsize
    })
  }

  /** Reserve `declared` bytes (0 when unknown); throws InsufficientStorageError when they do not fit. */
  async reserve (declared: number): Promise<Reservation> {
    this.check(declared)
    const free = await this.free()
    if (free - this.reserved - declared < this.minFreeBytes) {
      throw new InsufficientStorageError(`The server's disk is nearly full: it keeps ${this.minFreeBytes} bytes free and has ${Math.max(0, free - this.reserved)}`)
    }
    this.check(declared) // others may have reserved meanwhile
    this.reserved += declared
    let mine = declared
    let released = false
    return {
      received: (total: number): void => {
        if (released || total <= mine) return
        this.check(total - mine)
        this.reserved += total - mine
        mine = total
      },
      release: (): void => {
        if (released) return
        released = true
        this.reserved -= mine
      }
    }
  }

  /** Bytes reserved by uploads under way (tests). */
  get pending (): number {
    return this.reserved
  }

  private check (more: number): void {
    const used = this.init.used()
    if (used + this.reserved + more > this.init.maxBytes) {
      throw new InsufficientStorageError(`The library is full: ${used} bytes of ${this.init.maxBytes} taken` +
        (this.reserved > 0 ? `, ${this.reserved} more by uploads under way` : '') + '; ask the operator for room (--max-library-bytes)')
    }
  }
}

/** The bytes the library's files take: each video once per file that holds it. */
export function libraryBytes (entries: readonly CatalogueEntry[]): number {
  return entries.reduce((sum, e) => sum + e.size * (1 + (e.alsoNamed?.length ?? 0)), 0)
}
