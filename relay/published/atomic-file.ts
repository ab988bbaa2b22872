import { randomUUID } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'

/** Suffix of the temporary files `writeFileAtomic` leaves behind only if the process dies mid-write. */
export const TEMP_SUFFIX = '.tmp'

/**
 * Replace `path` with `data` so that a reader (or the next start, after a
 * crash) sees the old file or the new one, never half of one: the bytes go
 * to a fresh temporary file beside it, are synced, then renamed over it.
 */
export async function writeFileAtomic (path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${randomUUID()}${TEMP_SUFFIX}`
  try {
    const handle = await open(tmp, 'wx')
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}
