import { open, type FileHandle } from 'node:fs/promises'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ClientAbortedError, PayloadTooLargeError } from './errors'

export interface ReceiveOptions {
  /** Largest byte count accepted (PayloadTooLargeError past it). */
  maxBytes: number
  /** Told the running byte count as it grows; what it throws fails the transfer (a quota, a disk budget). */
  onData?(total: number): void
  /** Remove a file (the partial one, on failure). */
  remove(path: string): Promise<void>
  /** What an error of the source means (default: the client went away). */
  sourceError?(err: Error): Error
}

/**
 * Stream `source` into a new file at `path` (created exclusively), at most
 * `maxBytes` bytes; resolves with the byte count once the file is closed.
 *
 * On failure — too large (PayloadTooLargeError), the source erroring or
 * closing before its end (ClientAbortedError, or what `sourceError` says) —
 * the file is closed and removed before the promise rejects, and the source
 * is unpiped and left flowing so the rest of a request body is read and
 * discarded (the client then sees our error reply, not a reset connection).
 */
export async function receiveToFile (source: Readable, path: string, options: ReceiveOptions): Promise<number> {
  // Listen before the first await: a short body may end, or fail, while the file is being created.
  let failure: Error | undefined
  let counter: Transform | undefined
  const onError = (err: Error): void => {
    failure ??= options.sourceError?.(err) ?? new ClientAbortedError()
    counter?.destroy(failure)
  }
  const onClose = (): void => { if (!source.readableEnded) onError(new ClientAbortedError()) }
  source.on('error', onError)
  source.once('close', onClose)
  if (source.destroyed && !source.readableEnded) onClose()

  let handle: FileHandle | undefined
  try {
    handle = await open(path, 'wx')
    if (failure != null) throw failure
  } catch (err) {
    await handle?.close()
    if (handle != null) await options.remove(path)
    detach()
    throw err
  }

  let bytes = 0
  counter = new Transform({
    transform (piece: Buffer, _enc, callback) {
      bytes += piece.byteLength
      if (bytes > options.maxBytes) {
        callback(new PayloadTooLargeError(`The upload is larger than ${options.maxBytes} bytes`))
        return
      }
      try {
        options.onData?.(bytes)
      } catch (err) {
        callback(err as Error)
        return
      }
      callback(null, piece)
    }
  })
  const sink = handle.createWriteStream()
  source.pipe(counter)
  try {
    await pipeline(counter, sink)
    return bytes
  } catch (err) {
    if (!sink.closed) await new Promise<void>(resolve => sink.once('close', () => { resolve() }))
    await options.remove(path)
    throw err
  } finally {
    detach()
  }

  function detach (): void {
    if (counter != null) source.unpipe(counter)
    source.off('error', onError)
    source.off('close', onClose)
    if (!source.readableEnded) source.resume() // discard the rest
  }
}
