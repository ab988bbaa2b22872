import { randomUUID } from 'node:crypto'
import { lstat, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'

/** Small positional and atomic file operations the store is built from. */

export function isNotFound (err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
}

/** Does anything (file, folder, link) exist at `path`? */
export async function exists (path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (err) {
    if (isNotFound(err)) return false
    throw err
  }
}

export async function removeIfExists (path: string): Promise<void> {
  await rm(path, { force: true })
}

export interface WriteFileAtomicOptions {
  /**
   * Flush the temporary file to the disk before the rename (default true).
   * Without it the rename still replaces the file whole for any reader and
   * after a process crash (the page cache survives one), but a power cut may
   * leave the old contents or an empty file.
   */
  flush?: boolean
}

/**
 * Replace `path` with `data` so that a reader (or a crash) sees either the
 * old or the new contents, never a mix: write a temporary file beside it,
 * flush it (see `options.flush`), rename it over.
 */
export async function writeFileAtomic (path: string, data: Uint8Array | string, options: WriteFileAtomicOptions = {}): Promise<void> {
  const tmp = `${path}.${randomUUID()}.tmp`
  try {
    await writeFile(tmp, data, { flush: options.flush ?? true })
    await rename(tmp, path)
  } catch (err) {
    await removeIfExists(tmp)
    throw err
  }
}

/** Rename a file (a partial download to its final name). */
export async function renameFile (from: string, to: string): Promise<void> {
  await rename(from, to)
}

/**
 * Create a fresh empty file (a partial download's `.part`): it grows as
 * chunks are written at their offsets, sparse where the filesystem allows,
 * never longer than the furthest chunk written. Nothing is preallocated: a
 * download that never gets a byte takes no room, and one that fills the
 * disk fails on the chunk that did not fit (ENOSPC), not on a file
 * claiming the whole size. Whatever was at `path` (a stale file, a link) is
 * removed first, so the bytes never go through a link to somewhere else.
 */
export async function createEmpty (path: string): Promise<void> {
  await removeIfExists(path)
  const handle = await open(path, 'wx')
  await handle.close()
}

/** The filesystem has no room (ENOSPC), or the user's quota is spent (EDQUOT). */
export function isNoSpace (err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}

/**
 * Write all of `data` at byte `position` through an open handle. Not flushed:
 * once this resolves the bytes are in the OS page cache, which outlives the
 * process (see syncData for the disk).
 */
export async function writeAt (handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let written = 0
  while (written < data.byteLength) {
    const { bytesWritten } = await handle.write(data, written, data.byteLength - written, position + written)
    written += bytesWritten
  }
}

/** Read up to `length` bytes from `position` into a new buffer the caller owns; shorter when the file ends first. */
export async function readAt (handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  // not zero-filled: every byte returned is one read from the file
  const buffer = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length)
  let filled = 0
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  return filled === length ? buffer : buffer.slice(0, filled)
}

/** Flush a file's data to the disk, through an open handle (covers writes made through other handles too). */
export async function syncData (handle: FileHandle): Promise<void> {
  await handle.datasync()
}

/** Flush the file at `path` to the disk. */
export async function syncFile (path: string): Promise<void> {
  const handle = await open(path, 'r+')
  try {
    await handle.datasync()
  } finally {
    await handle.close()
  }
}

/** Flush a folder's entries (a file just created or removed in it); where folders cannot be opened, do nothing. */
export async function syncFolder (path: string): Promise<void> {
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch {
    return
  }
  try {
    await handle.sync()
  } catch {
    // some platforms and filesystems refuse fsync on a folder: nothing more to do
  } finally {
    await handle.close()
  }
}
