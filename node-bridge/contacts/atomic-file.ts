import { open, readdir, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

let counter = 0

/**
 * Replace `path` with `data` so that a crash at any moment leaves either the
 * old file or the new one, never a mix: write a temporary file beside it,
 * fsync it, rename it over the old one (atomic on one file system), fsync
 * the folder so the rename itself is durable.
 */
export async function writeFileAtomic (path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.${++counter}.tmp`
  const handle = await open(tmp, 'wx', mode)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } catch (err) {
    await handle.close()
    await unlink(tmp).catch(() => {})
    throw err
  }
  await handle.close()
  try {
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  const dir = await open(dirname(path), 'r').catch(() => undefined)
  await dir?.sync().catch(() => {}) // not every platform can fsync a folder
  await dir?.close()
}

/**
 * Remove the temporary files a process killed in the middle of
 * writeFileAtomic left beside `path` (`<name>.<pid>[.<n>].tmp`). Called
 * when the file is opened, before anything writes it again. Returns how
 * many went.
 */
export async function removeLeftovers (path: string): Promise<number> {
  const name = basename(path)
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\d+(\\.\\d+)?\\.tmp$`)
  let removed = 0
  const entries = await readdir(dirname(path)).catch(() => [] as string[])
  for (const entry of entries) {
    if (!pattern.test(entry)) continue
    await unlink(join(dirname(path), entry)).then(() => { removed++ }, () => {})
  }
  return removed
}
