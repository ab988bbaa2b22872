import { chunkLength, type Manifest } from '@core/content/manifest'
import { decideRange } from '@core/http/range'
import type { ChunkStore } from '@core/store/types'
import type { AbortOptions } from '@core/util/abort'
import { SW_MAX_RESPONSE_BYTES, SW_TAG, type SwRequest } from '../peer/sw-protocol'
import { ChunkStillMissingError, CorruptChunkError, StreamMethodNotAllowedError, StreamRangeNotSatisfiableError, UnknownStreamContentError, statusOf } from './errors'
import type { StreamTarget } from './route'

export interface SwLog {
  /** A request that failed: always shown. */
  error(message: string): void
  /** Per-chunk detail. */
  trace(message: string): void
}

export interface StreamDeps {
  /** The profile's IndexedDB store. */
  store: Pick<ChunkStore, 'getManifest' | 'getChunk'>
  /** Have the tab put into the store what it lacks; resolves once the tab says it did (ask-tab.ts). */
  ask(request: SwRequest, options?: AbortOptions): Promise<void>
  log: SwLog
  /** The largest 206 body (SW_MAX_RESPONSE_BYTES). */
  maxResponseBytes?: number
  /** Given a promise that settles when the body is done, failed or cancelled: the worker's `event.waitUntil`. */
  keepAlive?(done: Promise<void>): void
}

/** The part of a fetch's Request used here. */
export interface StreamRequest {
  method: string
  headers: Headers
  signal?: AbortSignal
}

/**
 * The answer to `GET|HEAD /stream/<profile>/<contentId>`, from the profile's
 * IndexedDB, asking the tab for what is missing:
 *
 * - no `Range` (a download): 200 with the whole content;
 * - one satisfiable range: 206 with `Content-Range`, at most `maxResponseBytes`
 *   of it (the browser asks again for the rest, so no response lives long);
 * - a range past the end: 416 with `Content-Range: bytes * /size`.
 *
 * Every failure before the headers (no manifest, the first chunk out of
 * reach) is a status with a JSON `{ error }` body; the first chunk of the
 * range is read before answering for that reason. After the headers, a chunk
 * that cannot be had errors the body stream (and is logged).
 */
export async function streamResponse (target: StreamTarget, request: StreamRequest, deps: StreamDeps): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') throw new StreamMethodNotAllowedError()
  const { store, log } = deps
  const { contentId, profile } = target
  const signal = request.signal
  const label = `/stream/${profile}/${contentId.slice(0, 12)}…`

  let manifest = await store.getManifest(contentId, { signal })
  if (manifest == null) {
    log.trace(`${label}: no manifest in IndexedDB, asking the tab`)
    await deps.ask({ tag: SW_TAG, type: 'manifest', profile, contentId }, { signal })
    manifest = await store.getManifest(contentId, { signal })
    if (manifest == null) throw new UnknownStreamContentError(`${label}: the tab answered, but there is still no manifest for this content`)
  }

  const size = manifest.size
  const range = decideRange(request.headers.get('range') ?? undefined, size)
  if (range.kind === 'unsatisfiable') {
    throw new StreamRangeNotSatisfiableError(size, `The range "${request.headers.get('range')?.slice(0, 100) ?? ''}" is outside the content (${size} bytes)`)
  }
  const start = range.kind === 'partial' ? range.start : 0
  const end = range.kind === 'partial' ? Math.min(range.end, start + (deps.maxResponseBytes ?? SW_MAX_RESPONSE_BYTES) - 1) : size - 1

  const headers = new Headers({
    'Accept-Ranges': 'bytes',
    'Content-Type': manifest.mime,
    'Content-Length': String(end - start + 1),
    'Cache-Control': 'no-store'
  })
  if (range.kind === 'partial') headers.set('Content-Range', `bytes ${start}-${end}/${size}`)
  const status = range.kind === 'partial' ? 206 : 200
  if (request.method === 'HEAD') return new Response(null, { status, headers })

  const read = chunkReader(target, manifest, deps)
  const firstIndex = Math.floor(start / manifest.chunkSize)
  const first = await read(firstIndex, signal)
  log.trace(`${label}: ${status} bytes ${start}-${end}/${size}`)
  return new Response(body({ first, firstIndex, start, end, manifest, read, log, label, keepAlive: deps.keepAlive }), { status, headers })
}

type ReadChunk = (index: number, signal?: AbortSignal) => Promise<Uint8Array>

/** Chunk `index` from IndexedDB; when it is not there, the tab is asked for it and IndexedDB read again. */
function chunkReader (target: StreamTarget, manifest: Manifest, deps: StreamDeps): ReadChunk {
  const { store } = deps
  const { contentId, profile } = target
  return async (index, signal) => {
    let data = await store.getChunk(contentId, index, { signal })
    if (data == null) {
      deps.log.trace(`chunk ${index} of ${contentId.slice(0, 12)}… is not in IndexedDB, asking the tab`)
      await deps.ask({ tag: SW_TAG, type: 'chunk', profile, contentId, index }, { signal })
      data = await store.getChunk(contentId, index, { signal })
      if (data == null) throw new ChunkStillMissingError(`Chunk ${index} of ${contentId.slice(0, 12)}…: the tab said it was stored, but it is not in IndexedDB`)
    }
    const expected = chunkLength(manifest, index)
    if (data.byteLength !== expected) throw new CorruptChunkError(`Chunk ${index} of ${contentId.slice(0, 12)}… has ${data.byteLength} bytes in IndexedDB, expected ${expected}`)
    return data
  }
}

interface BodyOptions {
  /** The first chunk of the range, already read (before the headers). */
  first: Uint8Array
  firstIndex: number
  /** The byte range to send, inclusive. */
  start: number
  end: number
  manifest: Manifest
  read: ReadChunk
  log: SwLog
  label: string
  keepAlive?(done: Promise<void>): void
}

/**
 * The body: the bytes `start..end`, chunk by chunk. Pull-based: a chunk is
 * read when the consumer wants more (the queue holds at most one chunk
 * ahead); a cancel stops the reads and aborts a pending ask of the tab.
 */
function body (options: BodyOptions): ReadableStream<Uint8Array> {
  const { start, end, manifest, read, log, label } = options
  const lastIndex = Math.floor(end / manifest.chunkSize)
  let index = options.firstIndex
  let ready: Uint8Array | undefined = options.first
  const cancelled = new AbortController()
  let settle = (): void => {}
  options.keepAlive?.(new Promise<void>(resolve => { settle = resolve }))

  return new ReadableStream<Uint8Array>({
    async pull (controller) {
      try {
        const data = ready ?? await read(index, cancelled.signal)
        ready = undefined
        if (cancelled.signal.aborted) return
        const offset = index * manifest.chunkSize
        const from = Math.max(start, offset) - offset
        const to = Math.min(end + 1, offset + data.byteLength) - offset
        controller.enqueue(data.subarray(from, to))
        index++
        if (index > lastIndex) {
          controller.close()
          settle()
        }
      } catch (err) {
        settle()
        if (cancelled.signal.aborted) return
        log.error(`${label} bytes ${start}-${end}: the stream fails at chunk ${index}: ${(err as Error).message}`)
        controller.error(err)
      }
    },
    cancel (reason) {
      settle()
      log.trace(`${label} bytes ${start}-${end}: cancelled at chunk ${index}`)
      cancelled.abort(reason)
    }
  }, { highWaterMark: 1 })
}

/** The JSON `{ error }` answer for a failure (with `Content-Range: bytes * /size` for a 416). */
export function errorResponse (err: unknown): Response {
  const headers = new Headers({ 'Cache-Control': 'no-store' })
  if ((err as Error | null)?.name === 'StreamRangeNotSatisfiableError') {
    headers.set('Content-Range', `bytes */${(err as StreamRangeNotSatisfiableError).size}`)
    headers.set('Accept-Ranges', 'bytes')
  }
  const message = err instanceof Error ? err.message : String(err)
  return Response.json({ error: message }, { status: statusOf(err), headers })
}
