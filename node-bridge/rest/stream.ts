import { open, type FileHandle } from 'node:fs/promises'
import type { RequestHandler, Response } from 'express'
import { chunkRange, type ContentId, type Manifest } from '@core/content/manifest'
import { decideRange, rangeReply } from '@core/http/range'
import type { ChunkStore } from '@core/store/types'
import type { SwarmSession } from '@core/swarm/session'
import type { DownloadManager } from '../downloads/manager'
import { RangeNotSatisfiableError } from './errors'
import { filenameParam } from './params'

export interface StreamDeps {
  manager: Pick<DownloadManager, 'streamTarget'>
  store: Pick<ChunkStore, 'getChunk'> & { pathOf(contentId: ContentId): string | undefined }
  log: (msg: string) => void
}

/** Pieces written to the socket from a complete file. */
const FILE_PIECE_BYTES = 256 * 1024

/**
 * `GET|HEAD /stream/:filename`: a file of the cache with exact ranges
 * (`decideRange`: 206 + `Content-Range`, 416 + `bytes *\/size`, suffixes),
 * playable by `<video>` and VLC. A complete file is read from its path in
 * the cache; a file still downloading is read chunk by chunk as the swarm
 * brings them, the session's critical window moved to the range asked
 * for (`seek`, then `waitForChunk` for each chunk), so a player gets the
 * bytes it waits on first. Only verified chunks are ever sent.
 */
export function streamHandler (deps: StreamDeps): RequestHandler {
  return async (req, res) => {
    const filename = filenameParam(req.params.filename)
    const closed = new AbortController()
    res.once('close', () => { closed.abort(new Error('The client went away')) })
    const { contentId, manifest, session } = await deps.manager.streamTarget(filename, { signal: closed.signal })
    const size = manifest.size
    res.setHeader('Accept-Ranges', 'bytes')
    res.setHeader('ETag', `"${contentId}"`)
    res.setHeader('Cache-Control', 'no-cache')
    res.setHeader('X-Pipbingo-Complete', session == null ? 'true' : 'false')
    const reply = rangeReply(decideRange(req.headers.range, size), size)
    res.set(reply.headers)
    if (reply.status === 416) throw new RangeNotSatisfiableError(`The range "${req.headers.range ?? ''}" is outside the file (${size} bytes)`)
    const { start, end } = reply
    res.status(reply.status)
    res.setHeader('Content-Type', manifest.mime)
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    const path = session == null ? deps.store.pathOf(contentId) : undefined
    // a player learns at once that its range is coming, even if the swarm has yet to bring it
    if (path == null) res.flushHeaders()
    try {
      if (path != null) await sendFile(res, path, start, end, size, closed.signal)
      else await sendChunks(res, { contentId, manifest, session, store: deps.store }, start, end, closed.signal)
      if (!res.destroyed) res.end()
    } catch (err) {
      if (!closed.signal.aborted) deps.log(`streaming ${filename} failed mid-response: ${(err as Error).message}`)
      res.destroy()
    }
  }
}

/** Bytes `start..end` (inclusive) of a complete file, piece by piece, waiting for the socket to drain. */
async function sendFile (res: Response, path: string, start: number, end: number, size: number, signal: AbortSignal): Promise<void> {
  let handle: FileHandle | undefined
  try {
    handle = await open(path, 'r')
    if ((await handle.stat()).size !== size) throw new Error(`${path} changed size behind the cache's back`)
    for (let offset = start; offset <= end && !signal.aborted;) {
      // a fresh buffer each time: the socket may still hold the previous one
      const buffer = Buffer.allocUnsafe(Math.min(FILE_PIECE_BYTES, end - offset + 1))
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, offset)
      if (bytesRead === 0) throw new Error(`${path} ended early`)
      await write(res, buffer.subarray(0, bytesRead), signal)
      offset += bytesRead
    }
  } finally {
    await handle?.close()
  }
}

interface ChunkSource {
  contentId: ContentId
  manifest: Manifest
  session?: SwarmSession
  store: Pick<ChunkStore, 'getChunk'>
}

/** Bytes `start..end` (inclusive) chunk by chunk from the store, waiting for each chunk the swarm has not brought yet. */
async function sendChunks (res: Response, src: ChunkSource, start: number, end: number, signal: AbortSignal): Promise<void> {
  const { manifest, session } = src
  const first = Math.floor(start / manifest.chunkSize)
  const last = Math.floor(end / manifest.chunkSize)
  session?.seek(start)
  for (let i = first; i <= last && !signal.aborted; i++) {
    await session?.waitForChunk(i, { signal })
    const chunk = await src.store.getChunk(src.contentId, i, { signal })
    if (chunk == null) throw new Error(`chunk ${i} of ${src.contentId} is not readable`)
    const range = chunkRange(manifest, i)
    const from = Math.max(start, range.start) - range.start
    const to = Math.min(end + 1, range.end) - range.start
    await write(res, chunk.subarray(from, to), signal)
  }
}

async function write (res: Response, bytes: Uint8Array, signal: AbortSignal): Promise<void> {
  if (signal.aborted || res.destroyed) throw new Error('The client went away')
  if (res.write(bytes)) return
  await new Promise<void>((resolve, reject) => {
    const done = (): void => { res.off('drain', done); signal.removeEventListener('abort', fail); resolve() }
    const fail = (): void => { res.off('drain', done); reject(new Error('The client went away')) }
    res.once('drain', done)
    signal.addEventListener('abort', fail, { once: true })
  })
}
