import { constants } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import type { OutgoingFile } from '@core/protocols/chat/types'
import type { AbortOptions } from '@core/util/abort'
import { FileSourceError } from './errors'

/**
 * A local file to send: its name (the last path segment), size, and its
 * bytes read piece by piece. `filePath` is the resolved path SendFolders
 * admitted; it is opened without following a symlink, so one swapped in
 * after the check is refused (ELOOP).
 */
export async function openOutgoingFile (filePath: string): Promise<OutgoingFile> {
  const path = resolve(filePath)
  let info
  try {
    info = await stat(path)
  } catch (err: any) {
    throw new FileSourceError(err?.code === 'ENOENT' ? `File not found: ${filePath}` : `Cannot read ${filePath} (${err?.code ?? err?.message})`)
  }
  if (!info.isFile()) throw new FileSourceError(`Not a regular file: ${filePath}`)
  const size = info.size
  return {
    name: basename(path),
    size,
    async * chunks (chunkSize: number, options?: AbortOptions): AsyncGenerator<Uint8Array> {
      const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: any) => { throw new FileSourceError(`Cannot read ${filePath} (${err?.code ?? err?.message})`) })
      try {
        for (let position = 0; position < size;) {
          options?.signal?.throwIfAborted()
          const buffer = new Uint8Array(Math.min(chunkSize, size - position))
          const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, position)
          if (bytesRead === 0) return // shorter than it was: the sender notices
          position += bytesRead
          yield bytesRead === buffer.byteLength ? buffer : buffer.subarray(0, bytesRead)
        }
        // longer than it was: one more byte makes the sender notice
        const extra = new Uint8Array(1)
        if ((await handle.read(extra, 0, 1, size)).bytesRead > 0) yield extra
      } finally {
        await handle.close()
      }
    }
  }
}
