/**
 * Hash a local video file for publishing: its manifest and content id, the
 * SHA-256 of every chunk computed in a Web Worker (hash-worker.ts) so the
 * page stays responsive, with progress. The file is checked before any byte
 * is read: a name the core accepts, a video type, not empty, not over the
 * largest content. Memory stays bounded whatever the file's size (see the
 * worker); only the hashes grow with it (64 hex characters per 256 KiB).
 */
import * as z from 'zod/mini'
import { CHUNK_SIZE, MAX_CHUNK_SIZE, MAX_CONTENT_SIZE, MIN_CHUNK_SIZE } from '@core/content/constants'
import { ContentTooLargeError, InvalidFilenameError } from '@core/content/errors'
import { checkFilename } from '@core/content/filename'
import { mimeFromFilename } from '@core/content/builder'
import { contentIdOf, parseManifest, type ContentId, type Manifest } from '@core/content/manifest'
import { toHex } from '@core/util/hex'
import type { AbortOptions } from '@core/util/abort'
import { EmptyFileError, HashStalledError, HashWorkerError, NotAVideoError } from './errors'
import type { HashRequest } from './hash-worker'

export interface HashProgress {
  bytesHashed: number
  totalBytes: number
  /** The average since hashing started (worker start-up included). */
  bytesPerSecond: number
}

/**
 * How the worker reads and hashes. The defaults are what the publish-hashing
 * bench measured fastest (tests/bench/suites/publish-hashing.ts); the knobs
 * are there for that bench.
 */
export interface HashTuning {
  /** Bytes per read of the file, rounded down to whole chunks (at least one). */
  readSize?: number
  /** SHA-256 digests outstanding at once. */
  inFlight?: number
  /** 'stream': a BYOB reader of the file's byte stream into one reused buffer; 'slice': `file.slice().arrayBuffer()`. */
  reader?: 'stream' | 'slice'
  /** With reader 'slice': start the next read while this one's chunks are hashed. */
  readAhead?: boolean
}

/**
 * Measured with the bench on a 2-core EPYC (Chromium 156, 256 MiB from disk,
 * quiet samples): the byte stream ~1.2 GB/s with a 1 MiB buffer, ~1.0 with
 * 4 MiB, ~0.9 with 16 MiB (a small buffer stays in cache); slices ~0.45–0.6;
 * digests in flight 1–16 within noise (WebCrypto seems to hash on one thread).
 */
export const DEFAULT_TUNING: Required<HashTuning> = { readSize: 1024 * 1024, inFlight: 4, reader: 'stream', readAhead: true }

export interface HashFileOptions extends AbortOptions {
  onProgress?(progress: HashProgress): void
  /** A power of two from 16 KiB to 1 MiB; CHUNK_SIZE (256 KiB) unless told. */
  chunkSize?: number
  /** Give up (HashStalledError) when the worker says nothing for this long: 30 s unless told. */
  stallTimeoutMs?: number
  tuning?: HashTuning
}

export interface HashedFile {
  manifest: Manifest
  contentId: ContentId
  /** From the call to the answer: checks, worker start-up, hashing and the content id. */
  elapsedMs: number
}

const DEFAULT_STALL_TIMEOUT_MS = 30_000

/** What the worker posts back (hash-worker.ts), checked here at the edge. */
const replySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('progress'), bytesHashed: z.int().check(z.minimum(0)) }),
  z.strictObject({ type: z.literal('done'), size: z.int().check(z.minimum(1)), hashes: z.instanceof(Uint8Array) }),
  z.strictObject({ type: z.literal('error'), name: z.string(), message: z.string() })
])

export type HashReply = z.infer<typeof replySchema>

/**
 * The manifest and content id of `file`, hashed in a worker. Rejects with
 * InvalidFilenameError, NotAVideoError, EmptyFileError or ContentTooLargeError
 * before reading anything; with the signal's reason (an AbortError unless the
 * caller gave another) when it aborts, the worker then terminated; with
 * HashWorkerError when the worker fails (a file that cannot be read, one that
 * changed since it was picked), HashStalledError when it stops answering.
 */
export async function hashFile (file: File, options: HashFileOptions = {}): Promise<HashedFile> {
  const started = performance.now()
  const chunkSize = options.chunkSize ?? CHUNK_SIZE
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE || (chunkSize & (chunkSize - 1)) !== 0) {
    throw new RangeError(`chunkSize must be a power of two from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes, not ${chunkSize}`)
  }
  const name = publishableName(file.name)
  const mime = videoTypeOf(file)
  if (file.size === 0) throw new EmptyFileError(`“${shown(file.name)}” is empty: there is nothing to publish.`)
  if (file.size > MAX_CONTENT_SIZE) {
    throw new ContentTooLargeError(`“${shown(file.name)}” is ${(file.size / 1024 ** 3).toFixed(1)} GiB: the largest file that can be published is ${MAX_CONTENT_SIZE / 1024 ** 3} GiB.`)
  }
  options.signal?.throwIfAborted()

  const tuning = { ...DEFAULT_TUNING, ...options.tuning }
  const request: HashRequest = {
    type: 'hash',
    file,
    chunkSize,
    readSize: Math.max(1, Math.floor(tuning.readSize / chunkSize)) * chunkSize,
    inFlight: tuning.inFlight,
    reader: tuning.reader,
    readAhead: tuning.readAhead
  }
  const raw = await runWorker(file, request, started, options)
  const hashes: string[] = []
  for (let at = 0; at < raw.byteLength; at += 32) hashes.push(toHex(raw.subarray(at, at + 32)))
  const manifest = parseManifest({ version: 1, name, size: file.size, mime, chunkSize, hashes })
  const contentId = await contentIdOf(manifest)
  return { manifest, contentId, elapsedMs: performance.now() - started }
}

/** Post `request` to a fresh worker; its raw hashes, checked against the file's size. */
async function runWorker (file: File, request: HashRequest, started: number, options: HashFileOptions): Promise<Uint8Array> {
  const { chunkSize } = request
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS
  const worker = new Worker(new URL('./hash-worker.ts', import.meta.url), { type: 'module', name: 'pipbingo-hash' })
  let resolve!: (hashes: Uint8Array) => void
  let reject!: (reason: unknown) => void
  const promise = new Promise<Uint8Array>((resolve_, reject_) => { resolve = resolve_; reject = reject_ })
  let stallTimer: ReturnType<typeof setTimeout> | undefined
  let lastReported = -1

  const report = (bytesHashed: number): void => {
    if (bytesHashed <= lastReported) return
    lastReported = bytesHashed
    const seconds = (performance.now() - started) / 1000
    options.onProgress?.({ bytesHashed, totalBytes: file.size, bytesPerSecond: seconds > 0 ? bytesHashed / seconds : 0 })
  }
  const armStallTimer = (): void => {
    clearTimeout(stallTimer)
    stallTimer = setTimeout(() => {
      reject(new HashStalledError(`Hashing “${shown(file.name)}” made no progress for ${stallTimeoutMs / 1000} s: gave up.`))
    }, stallTimeoutMs)
  }
  const onAbort = (): void => {
    reject(options.signal?.reason ?? new DOMException('Hashing was aborted', 'AbortError'))
  }

  worker.onmessage = (event: MessageEvent<unknown>) => {
    armStallTimer()
    const reply = replySchema.safeParse(event.data)
    if (!reply.success) {
      reject(new HashWorkerError(`The hashing worker sent a malformed message (${reply.error.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`))
      return
    }
    const message = reply.data
    if (message.type === 'progress') {
      report(message.bytesHashed)
    } else if (message.type === 'error') {
      reject(new HashWorkerError(`Could not hash “${shown(file.name)}”: ${message.message}`))
    } else if (message.size !== file.size || message.hashes.byteLength !== Math.ceil(file.size / chunkSize) * 32) {
      reject(new HashWorkerError(`The hashing worker answered for ${message.size} bytes and ${message.hashes.byteLength / 32} chunks, the file has ${file.size} bytes`))
    } else {
      report(file.size)
      resolve(message.hashes)
    }
  }
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault()
    reject(new HashWorkerError(`The hashing worker failed: ${event.message === '' ? 'it could not be started' : event.message}`))
  }
  worker.onmessageerror = () => {
    reject(new HashWorkerError('The hashing worker sent a message that could not be read'))
  }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  armStallTimer()
  worker.postMessage(request)
  try {
    return await promise
  } finally {
    worker.terminate()
    clearTimeout(stallTimer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}

/** The name, or InvalidFilenameError saying in words what is wrong with it. */
function publishableName (name: string): string {
  try {
    return checkFilename(name)
  } catch (err) {
    if ((err as Error).name !== InvalidFilenameError.name) throw err
    const reason = (err as Error).message.replace(/^Invalid filename: /, '')
    throw new InvalidFilenameError(`“${shown(name)}” cannot be published under this name: ${reason}. Rename the file and try again.`)
  }
}

/** The file's media type (what the browser says, else from the extension); NotAVideoError unless video/*. */
function videoTypeOf (file: File): string {
  const declared = file.type.split(';')[0]!.trim().toLowerCase()
  const mime = declared !== '' && declared !== 'application/octet-stream' ? declared : mimeFromFilename(file.name)
  if (!mime.startsWith('video/')) {
    const what = mime === 'application/octet-stream' ? 'of an unknown type' : `of type ${mime}`
    throw new NotAVideoError(`“${shown(file.name)}” is not a video (it is ${what}): only video files can be published.`)
  }
  return mime
}

/** A filename fit for a message: control characters replaced, cut at 80 characters. */
function shown (name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\ufffd')
  return clean.length > 80 ? `${clean.slice(0, 79)}…` : clean
}
