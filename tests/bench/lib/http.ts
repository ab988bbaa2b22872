import { open } from 'node:fs/promises'

const TIMEOUT_MS = 120_000

/**
 * `GET url` with Node's fetch, the whole body written to `path` as it
 * arrives and flushed to the disk at the end (the FsChunkStore flushes its
 * downloads too). Without `path`, the body is read and dropped.
 * Returns the bytes received and the wall time.
 */
export async function httpDownload (url: string, path?: string): Promise<{ bytes: number, ms: number }> {
  const started = performance.now()
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  if (response.status !== 200 || response.body == null) throw new Error(`GET ${url} answered ${response.status}`)
  const handle = path == null ? undefined : await open(path, 'wx')
  let bytes = 0
  const reader = response.body.getReader()
  try {
    for (;;) {
      const { done, value: piece } = await reader.read()
      if (done) break
      if (handle != null) {
        for (let off = 0; off < piece.byteLength;) {
          const { bytesWritten } = await handle.write(piece, off, piece.byteLength - off, bytes + off)
          off += bytesWritten
        }
      }
      bytes += piece.byteLength
    }
    await handle?.datasync()
  } catch (err) {
    await reader.cancel().catch(() => {})
    throw err
  } finally {
    reader.releaseLock()
    await handle?.close()
  }
  return { bytes, ms: performance.now() - started }
}
