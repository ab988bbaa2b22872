import { readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { isNotFound, removeIfExists, syncFolder } from './file-io'

const BOOT_ID = '/proc/sys/kernel/random/boot_id'

/**
 * `dir/.pipbingo/in-use`: present while a store has the folder open, holding
 * the id of the boot it was opened in (Linux; empty elsewhere).
 *
 * Chunk data is not flushed before the bitfield that claims it is saved (see
 * FsChunkStore), so only the OS page cache holds it for a while: that
 * survives the process (`kill -9`), not the machine (power cut, kernel
 * crash). The marker tells the two apart. It is flushed to the disk before
 * the store writes anything, and removed only after a clean `close()` has
 * flushed every partial download, so:
 *
 * - no marker: every chunk a bitfield claims is on the disk;
 * - a marker from this boot: the process died, the page cache did not, the
 *   claims hold;
 * - a marker from another boot (or when the boot cannot be told): claimed
 *   chunks may have been lost; they must be checked before they are trusted.
 */
export class InUseMarker {
  constructor (private readonly path: string) {}

  /** Was the folder left open by a store on a machine that has gone down since? */
  async leftOpenBeforeRestart (): Promise<boolean> {
    let marker: string
    try {
      marker = (await readFile(this.path, 'utf8')).trim()
    } catch (err) {
      if (isNotFound(err)) return false
      return true // unreadable: assume the worst, checking only costs time
    }
    const boot = await bootId()
    return boot === '' || marker !== boot
  }

  /** The folder is in use: flushed, folder entry included, before the store writes any chunk. */
  async set (): Promise<void> {
    await writeFile(this.path, await bootId(), { flush: true })
    await syncFolder(dirname(this.path))
  }

  /** Every partial download is flushed: the folder is no longer in use. */
  async clear (): Promise<void> {
    await removeIfExists(this.path)
  }
}

async function bootId (): Promise<string> {
  try {
    return (await readFile(BOOT_ID, 'utf8')).trim()
  } catch {
    return ''
  }
}
