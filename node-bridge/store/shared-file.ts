import { open, type FileHandle } from 'node:fs/promises'
import { FileRetiredError } from './errors'

/**
 * One open file shared by concurrent reads or writes. `use` lends the handle
 * for one operation; `retire` closes it once no operation uses it any more,
 * so a read or write under way is never cut off and its descriptor is never
 * closed (and reused by another open) beneath it. A retired file lends
 * nothing more: `use` throws FileRetiredError.
 */
export class SharedFile {
  private users = 0
  private closed: Promise<void> | undefined
  private markClosed = (): void => {}

  private constructor (
    readonly path: string,
    private readonly handle: Promise<FileHandle>
  ) {
    handle.catch(() => {}) // a failed open is reported to the users, not as an unhandled rejection
  }

  /** Start opening `path` (`flags` as for fs.open); a failure surfaces in `use`. */
  static open (path: string, flags: 'r' | 'r+'): SharedFile {
    return new SharedFile(path, open(path, flags))
  }

  get retired (): boolean {
    return this.closed != null
  }

  async use<T> (operation: (handle: FileHandle) => Promise<T>): Promise<T> {
    if (this.closed != null) throw new FileRetiredError()
    this.users++
    try {
      return await operation(await this.handle)
    } finally {
      this.users--
      if (this.closed != null && this.users === 0) this.closeNow()
    }
  }

  /** Close the file once the operations under way are done; resolves when it is closed. */
  async retire (): Promise<void> {
    if (this.closed == null) {
      this.closed = new Promise(resolve => { this.markClosed = resolve })
      if (this.users === 0) this.closeNow()
    }
    await this.closed
  }

  private closeNow (): void {
    this.handle
      .then(async handle => { await handle.close() })
      .catch(() => {}) // never opened, or already gone: nothing is left open
      .finally(() => { this.markClosed() })
  }
}
