import type { BigIntStats } from 'node:fs'
import { stat } from 'node:fs/promises'
import { StoreClosedError } from '@core/store/errors'
import { readAt } from './file-io'
import { SharedFile } from './shared-file'

/** How many files the store keeps open for reading, by default. */
export const DEFAULT_READ_HANDLES = 64

interface Slot {
  file: SharedFile
  /** Device and inode of the file the handle has open. */
  opened: Promise<BigIntStats>
}

/**
 * The files chunks are read from, kept open between reads: at most `max`,
 * the least recently used closed first (once its reads under way are done).
 *
 * A handle outlives what happens to its name, so every read also asks, in
 * parallel with the read itself, which file the name leads to now (stat,
 * following links as open does): a file deleted, renamed away or replaced by
 * a new inode behind the store's back reads exactly as it did when every
 * read opened the name — gone, or the new file — and its old inode is not
 * held open. A file changed in place is the same inode: what it holds now is
 * read, and the caller's hash check refuses it. The store also calls
 * `forget` whenever it deletes, renames or adopts a file itself.
 */
export class ReadHandles {
  private readonly slots = new Map<string, Slot>() // least recently used first
  private readonly closing = new Set<Promise<void>>()
  private closed = false

  constructor (private readonly max = DEFAULT_READ_HANDLES) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('ReadHandles needs room for at least one file')
  }

  /**
   * Read up to `length` bytes at `position` of the file named `path`, into a
   * new buffer the caller owns. Throws the error of open or stat (ENOENT when
   * the file is gone), StoreClosedError after `close`.
   */
  async read (path: string, position: number, length: number): Promise<Uint8Array> {
    return (await this.readIdentified(path, position, length, false)).bytes
  }

  /**
   * `read`, and the identity of the file the bytes came from (identityOf:
   * device, inode, size, mtime, ctime), from the stat every read makes
   * anyway (the name's, alongside the read; a handle just opened: its
   * fstat), so knowing it costs no extra system call.
   */
  async readIdentified (path: string, position: number, length: number, identify = true): Promise<{ bytes: Uint8Array, identity?: string }> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new StoreClosedError()
      const cached = attempt === 0 ? this.take(path) : undefined
      const { slot, evicted } = cached != null ? { slot: cached, evicted: undefined } : this.open(path)
      let bytes: Uint8Array
      let now: BigIntStats | undefined
      try {
        [bytes, now] = await Promise.all([
          slot.file.use(async handle => await readAt(handle, position, length)),
          cached == null ? slot.opened : this.statIfNamed(path, slot), // a handle just opened by name is that file
          evicted
        ])
      } catch (err) {
        await this.forget(path, slot)
        throw err
      }
      if (now != null) return { bytes, identity: identify ? identityOf(now) : undefined }
      await this.forget(path, slot) // the name leads to another file now: read that one
    }
  }

  /** Close the handle of `path` (optionally only if it is `slot`); resolves once it is closed. */
  async forget (path: string, slot = this.slots.get(path)): Promise<void> {
    if (slot == null) return
    if (this.slots.get(path) === slot) this.slots.delete(path)
    const closing = slot.file.retire()
    this.closing.add(closing)
    await closing.finally(() => this.closing.delete(closing))
  }

  /** Close every handle (after the reads under way); no read is served after this. */
  async close (): Promise<void> {
    this.closed = true
    for (const path of [...this.slots.keys()]) void this.forget(path)
    await Promise.all([...this.closing])
  }

  /** The cached handle of `path`, now the most recently used. */
  private take (path: string): Slot | undefined {
    const slot = this.slots.get(path)
    if (slot == null) return undefined
    this.slots.delete(path)
    this.slots.set(path, slot)
    return slot
  }

  /** Open `path` into the cache; `evicted` resolves once the files that pushed out of it are closed. */
  private open (path: string): { slot: Slot, evicted: Promise<unknown> } {
    const closing: Array<Promise<void>> = []
    const previous = this.slots.get(path)
    if (previous != null) closing.push(this.forget(path, previous))
    const file = SharedFile.open(path, 'r')
    const slot: Slot = { file, opened: file.use(async handle => await handle.stat({ bigint: true })) }
    slot.opened.catch(() => {}) // a failed open is reported by the read that opened it
    this.slots.set(path, slot)
    for (const [oldest, old] of this.slots) {
      if (this.slots.size <= this.max) break
      closing.push(this.forget(oldest, old))
    }
    return { slot, evicted: Promise.all(closing) }
  }

  /** The stat of `path` if it still leads to the file `slot` has open, else undefined. */
  private async statIfNamed (path: string, slot: Slot): Promise<BigIntStats | undefined> {
    const [now, opened] = await Promise.all([stat(path, { bigint: true }), slot.opened])
    return now.ino === opened.ino && now.dev === opened.dev ? now : undefined
  }
}

/**
 * What tells one state of a file from another: device and inode (which
 * file), size, and the modification and change times in nanoseconds. Any
 * write or truncate moves mtime and ctime; `utimes` can put the mtime back
 * but moves the ctime, which nothing but the kernel sets. Limits: two
 * writes within one tick of the filesystem's clock share a ctime, and the
 * stat runs alongside the read, so a write landing between the two (a
 * writer racing the read by microseconds) can keep a verified identity.
 */
export function identityOf (stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`
}
