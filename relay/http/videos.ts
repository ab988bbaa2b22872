import { open, type FileHandle } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import type { Request, RequestHandler, Response } from 'express'
import { LibraryFileChangedError, type CatalogueEntry, type Library } from '../library/index'
import type { RelayMetrics } from '../metrics'
import { NotFoundError, RangeNotSatisfiableError } from './errors'
import { filenameParam } from './params'
import { decideRange, rangeReply } from '@core/http/range'

export interface VideosDeps {
  library: Library
  metrics: RelayMetrics
  log: (msg: string) => void
  /** True for a name only peers hold the bytes of (a video published from a browser). */
  peerOnly?: (filename: string) => boolean
}

/**
 * Videos change only by being replaced by hand (and then the relay must be
 * restarted to re-manifest them), so an hour of caching, revalidated by ETag
 * (the content id), is safe.
 */
const CACHE_CONTROL = 'public, max-age=3600'

/**
 * `GET|HEAD /videos/:filename`: the origin's HTTP fallback (404 for a video
 * only peers hold: the relay never had its bytes). One file handle
 * per request, opened before anything is decided so the size, the mtime and
 * the bytes all come from the same file; it is closed on every path,
 * including a client that goes away mid-body.
 */
export function videosHandler (deps: VideosDeps): RequestHandler {
  return async (req, res) => {
    const filename = filenameParam(req.params.filename)
    const entry = deps.library.byFilename(filename)
    const file = entry == null ? undefined : deps.library.fileOf(entry.contentId)
    if (entry == null && deps.peerOnly?.(filename) === true) throw new NotFoundError('The relay does not hold this video: only peers share it')
    if (entry == null || file == null) throw new NotFoundError(`No video named "${filename}"`)

    let handle: FileHandle | undefined
    try {
      handle = await open(file.path, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`The file of "${filename}" is missing`)
      throw err
    }
    try {
      const stats = await handle.stat()
      if (stats.size !== entry.size) {
        throw new LibraryFileChangedError(`The file of "${filename}" changed on disk since it was added (restart the relay to re-scan)`)
      }
      const etag = `"${entry.contentId}"`
      const lastModified = stats.mtime.toUTCString()
      res.setHeader('Accept-Ranges', 'bytes')
      res.setHeader('ETag', etag)
      res.setHeader('Last-Modified', lastModified)
      res.setHeader('Cache-Control', CACHE_CONTROL)

      if (notModified(req, etag, stats.mtime)) {
        res.status(304).end()
        return
      }

      const size = entry.size
      const reply = rangeReply(rangeStillValid(req, etag, lastModified) ? decideRange(req.headers.range, size) : { kind: 'full' }, size)
      res.set(reply.headers)
      if (reply.status === 416) throw new RangeNotSatisfiableError(`The range "${req.headers.range ?? ''}" is outside the file (${size} bytes)`)
      const { start, end } = reply
      res.status(reply.status)
      res.setHeader('Content-Type', entry.mime)
      if (req.method === 'HEAD') {
        res.end()
        return
      }
      const stream = handle.createReadStream({ start, end, autoClose: true })
      handle = undefined // the stream closes it now
      await pump(stream, res, bytes => { deps.metrics.addHttpBytesServed(bytes) }, entry, deps.log)
    } finally {
      await handle?.close()
    }
  }
}

/**
 * Copy `source` to `res`, counting each piece once the socket took it (the
 * write callback): a client that aborts is counted for what it was sent.
 * The source is destroyed (its file handle closed) however this ends.
 */
async function pump (source: Readable, res: Response, onSent: (bytes: number) => void, entry: CatalogueEntry, log: (msg: string) => void): Promise<void> {
  let gone = false
  const closed = new Promise<void>(resolve => {
    res.once('close', () => {
      gone = true
      source.destroy()
      resolve()
    })
  })
  try {
    for await (const piece of source as AsyncIterable<Buffer>) {
      if (gone || res.destroyed) break
      const bytes = piece.byteLength
      const flowing = res.write(piece, err => { if (err == null) onSent(bytes) })
      if (!flowing) await Promise.race([new Promise(resolve => res.once('drain', resolve)), closed])
    }
    if (!gone && !res.destroyed) res.end()
  } catch (err) {
    if (!gone && !res.destroyed) {
      log(`reading ${entry.filename} failed mid-response: ${(err as Error).message}`)
      res.destroy(err as Error)
    }
  } finally {
    source.destroy()
  }
}

/** `If-None-Match` (weak comparison), else `If-Modified-Since`: RFC 9110 §13.1.2, §13.1.3. */
function notModified (req: Request, etag: string, mtime: Date): boolean {
  const inm = req.get('if-none-match')
  if (inm != null) {
    return inm.split(',').map(t => t.trim().replace(/^W\//, '')).some(t => t === '*' || t === etag)
  }
  const ims = req.get('if-modified-since')
  if (ims == null) return false
  const since = Date.parse(ims)
  return !Number.isNaN(since) && Math.floor(mtime.getTime() / 1000) * 1000 <= since
}

/** `If-Range`: the range applies only if the validator still matches (strong comparison). */
function rangeStillValid (req: Request, etag: string, lastModified: string): boolean {
  const ifRange = req.get('if-range')
  if (ifRange == null) return true
  const value = ifRange.trim()
  if (value.startsWith('"') || value.startsWith('W/')) return value === etag
  return value === lastModified
}
