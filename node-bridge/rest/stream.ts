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
  /** `getChunk` verifies what it reads (FsChunkStore); `repaired` resolves once a damaged file is a download again. */
  store: Pick<ChunkStore, 'getChunk'> & { repaired(contentId: ContentId): Promise<void> }
  log: (msg: string) => void
}

/** Chunks read ahead of the one being written: their reads overlap the socket's writes. */
const READ_AHEAD = 2

/** How long a response waits for a damaged chunk to be fetched again before it ends unfinished. */
export const REFETCH_WAIT_MS = 30_000

/**
 * `GET|HEAD /stream/:filename`: a file of the cache with exact ranges
 * (`decideRange`: 206 + `Content-Range`, 416 + `bytes *\/size`, suffixes),
 * playable by `<video>` and VLC. Every byte goes through the store's
 * `getChunk`, chunk by chunk, which verifies what it reads from disk (each
 * chunk at its first read after start or after the file changed): a chunk
 * that does not match is never sent. A file still downloading is read as
 * the swarm brings its chunks, the session's critical window moved to the
 * range asked for (`seek`, then `waitForChunk` for each chunk), so a player
 * gets the bytes it waits on first.
 *
 * A damaged chunk of a complete file: the store drops it and makes the file
 * a download again; the response waits for that chunk to be fetched again
 * (first in line: the swarm serves a waiting reader first) and goes on. If
 * it does not come within REFETCH_WAIT_MS, or the download cannot run now,
 * the response ends unfinished (the connection is closed before the
 * promised length): a client sees a failed transfer, never wrong bytes.
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
    // a player learns at once that its range is coming, even if the swarm has yet to bring it
    if (session != null) res.flushHeaders()
    try {
      await sendChunks(res, { filename, contentId, manifest, session, deps }, start, end, closed.signal)
      if (!res.destroyed) res.end()
    } catch (err) {
      if (!closed.signal.aborted) deps.log(`streaming ${filename} failed mid-response: ${(err as Error).message}`)
      res.destroy()
    }
  }
}

interface ChunkSource {
  filename: string
  contentId: ContentId
  manifest: Manifest
  session?: SwarmSession
  deps: StreamDeps
}

/** Bytes `start..end` (inclusive) chunk by chunk from the store, waiting for each chunk the swarm has not brought yet. */
async function sendChunks (res: Response, src: ChunkSource, start: number, end: number, signal: AbortSignal): Promise<void> {
  const { manifest, contentId, deps } = src
  let session = src.session
  const first = Math.floor(start / manifest.chunkSize)
  const last = Math.floor(end / manifest.chunkSize)
  session?.seek(start)
  const read = async (i: number): Promise<Uint8Array | undefined> => {
    await session?.waitForChunk(i, { signal })
    return await deps.store.getChunk(contentId, i, { signal })
  }
  const ahead = new Map<number, Promise<Uint8Array | undefined>>()
  const take = (i: number): Promise<Uint8Array | undefined> => {
    for (let j = i; j <= Math.min(last, i + READ_AHEAD); j++) {
      if (ahead.has(j)) continue
      const p = read(j)
      p.catch(() => {}) // the loop may end before it takes this one
      ahead.set(j, p)
    }
    const p = ahead.get(i)!
    ahead.delete(i)
    return p
  }
  for (let i = first; i <= last && !signal.aborted; i++) {
    let chunk = await take(i)
    if (chunk == null) {
      // damaged (or not readable): wait for the cache to fetch it again, then read it afresh
      ahead.clear()
      session = await refetched(src, i, signal)
      chunk = await deps.store.getChunk(contentId, i, { signal })
      if (chunk == null) throw new Error(`chunk ${i} of ${contentId} is not readable`)
    }
    const range = chunkRange(manifest, i)
    const from = Math.max(start, range.start) - range.start
    const to = Math.min(end + 1, range.end) - range.start
    await write(res, chunk.subarray(from, to), signal)
  }
}

/**
 * Chunk `index` could not be read verified: once the store has made the
 * file a download again, wait (REFETCH_WAIT_MS at most) for the session
 * that fetches it to bring that chunk. Returns that session (undefined when
 * the file turned out whole). Throws when no download runs for it.
 */
async function refetched (src: ChunkSource, index: number, signal: AbortSignal): Promise<SwarmSession | undefined> {
  const { deps, contentId, filename } = src
  await deps.store.repaired(contentId)
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(REFETCH_WAIT_MS)])
  const target = await deps.manager.streamTarget(filename, { signal: bounded })
  if (target.contentId !== contentId) throw new Error(`${filename} holds another content now`)
  target.session?.seek(chunkRange(src.manifest, index).start)
  await target.session?.waitForChunk(index, { signal: bounded })
  return target.session
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
