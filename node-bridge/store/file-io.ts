import { randomUUID } from 'node:crypto'
import { lstat, open, rename, rm, writeFile } from 'node:fs/promises'

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

/**
 * Replace `path` with `data` so that a reader (or a crash) sees either the
 * old or the new contents, never a mix: write a temporary file beside it,
 * flush it, rename it over.
 */
export async function writeFileAtomic (path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${randomUUID()}.tmp`
  try {
    await writeFile(tmp, data, { flush: true })
    await rename(tmp, path)
  } catch (err) {
    await removeIfExists(tmp)
    throw err
  }
}

/**
 * Create a fresh file of `size` bytes without writing them: sparse where the
 * filesystem allows. Whatever was at `path` (a stale file, a link) is removed
 * first, so the bytes never go through a link to somewhere else.
 */
export async function createSparse (path: string, size: number): Promise<void> {
  await removeIfExists(path)
  const handle = await open(path, 'wx')
  try {
    await handle.truncate(size)
  } finally {
    await handle.close()
  }
}

/** Write `data` at byte `position` of an existing file (not flushed: see syncFile). */
export async function writeAt (path: string, data: Uint8Array, position: number): Promise<void> {
  const handle = await open(path, 'r+')
  try {
    let written = 0
    while (written < data.byteLength) {
      const { bytesWritten } = await handle.write(data, written, data.byteLength - written, position + written)
      written += bytesWritten
    }
  } finally {
    await handle.close()
  }
}

/** Read up to `length` bytes from `position`; shorter when the file ends first. */
export async function readAt (path: string, position: number, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r')
  try {
    const buffer = new Uint8Array(length)
    let filled = 0
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return filled === length ? buffer : buffer.slice(0, filled)
  } finally {
    await handle.close()
  }
}

/** Flush a file's data to the disk (covers writes made through other handles too). */
export async function syncFile (path: string): Promise<void> {
  const handle = await open(path, 'r+')
  try {
    await handle.datasync()
  } finally {
    await handle.close()
  }
}
