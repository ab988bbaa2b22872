import { randomUUID } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Request, RequestHandler, Response } from 'express'
import busboy from 'busboy'
import type { Library } from '../library/index'
import { titleFromFilename } from '../library/index'
import type { RelayMetrics } from '../metrics'
import { BadRequestError, HttpError, InsufficientStorageError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors'
import { LIBRARY_BUDGET_DEFAULTS, LibraryBudget, libraryBytes } from './library-budget'
import { filenameParam, parseOrBadRequest, uploadHeadersSchema, uploadQuerySchema } from './params'
import { receiveToFile } from './receive'
import { addressKey, UPLOAD_QUOTA_DEFAULTS, UploadQuota, type UploadQuotaLimits } from './upload-quota'

/** Who may upload, and how much (ARCHITECTURE, "Limits and trust"). */
export interface UploadLimits {
  /** Web origins besides the relay's own whose pages may upload (origin.ts). */
  allowOrigins: readonly string[]
  /** Per-address quotas (upload-quota.ts). */
  quota: UploadQuotaLimits
  /** The most the library's videos may take, uploads under way included (library-budget.ts). */
  maxLibraryBytes: number
  /** Room to leave free on the library's disk (default 1 GiB). */
  minFreeBytes?: number
  /** The quotas' clock (tests). */
  now?: () => number
}

export const UPLOAD_LIMITS_DEFAULTS: UploadLimits = {
  allowOrigins: [],
  quota: UPLOAD_QUOTA_DEFAULTS,
  maxLibraryBytes: LIBRARY_BUDGET_DEFAULTS.maxBytes
}

export interface UploadDeps {
  library: Library
  metrics: RelayMetrics
  maxUploadBytes: number
  log: (msg: string) => void
  /** The entry as `GET /list` shows it (with peer counts); default: the library's. */
  present?: (contentId: string) => object | undefined
  /** Quotas and the disk budget (the origin check is appOriginGuard's, before this handler). */
  limits?: UploadLimits
}

/** The extensions an upload may have, and the one a raw upload's media type gives. */
export const UPLOAD_EXTENSIONS = ['mp4', 'm4v', 'webm', 'mkv', 'mov', 'ogv'] as const
const EXTENSION_BY_MEDIA_TYPE: Record<string, string> = {
  'video/mp4': 'mp4',
  'video/x-m4v': 'm4v',
  'video/webm': 'webm',
  'video/x-matroska': 'mkv',
  'video/matroska': 'mkv',
  'video/quicktime': 'mov',
  'video/ogg': 'ogv'
}

interface Received { tmpPath: string, bytes: number, originalName?: string, ext: string }

/** What a body's bytes are checked against as they arrive: the size cap, the address's quota, the disk budget. */
interface Meter { maxBytes: number, received(total: number): void }

/**
 * `POST /upload`: a video streamed to a temporary file in
 * `library/.pipbingo/uploads/`, then given a fresh name `video_<unix-ms>.<ext>`
 * in `library/` (never a name from the client), manifested and seeded.
 *
 * Two ways in: `multipart/form-data` with one file part (a browser form,
 * `curl -F file=@x.mp4`; further files are ignored), or a raw body with a
 * `video/*` Content-Type and the original name in `?name=` or `X-Filename`
 * (percent-encoded if it is not ASCII). The original name must pass
 * checkFilename (400); it gives the extension (else the media type does) and
 * the title. Answers 201 with the catalogue entry (200 with the existing
 * entry when the library already held these bytes), 413 past
 * `maxUploadBytes`, 415 for a type or extension outside UPLOAD_EXTENSIONS.
 * Whatever fails, no file is left behind.
 *
 * Before the body is read: 429 (with `Retry-After`) past the address's
 * quotas, 507 when the declared length does not fit the library's disk
 * budget; while it streams, the same once the bytes received pass either
 * (the partial file removed).
 */
export function uploadHandler (deps: UploadDeps): RequestHandler {
  const limits = deps.limits ?? UPLOAD_LIMITS_DEFAULTS
  const quota = new UploadQuota(limits.quota, limits.now)
  const budget = new LibraryBudget({
    maxBytes: limits.maxLibraryBytes,
    minFreeBytes: limits.minFreeBytes,
    used: () => libraryBytes(deps.library.entries()),
    dir: deps.library.dir
  })
  return async (req, res) => {
    const headers = parseOrBadRequest(uploadHeadersSchema, req.headers, 'headers')
    const mediaType = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
    const declared = headers['content-length'] != null ? Number(headers['content-length']) : undefined
    let raw: { originalName?: string, ext: string } | undefined
    if (mediaType.startsWith('video/')) {
      const query = parseOrBadRequest(uploadQuerySchema, req.query, 'query')
      const originalName = originalNameOf(query.name ?? decodeHeader(headers['x-filename']))
      raw = { originalName, ext: extensionFor(originalName, mediaType) }
      if (declared != null && declared > deps.maxUploadBytes) {
        throw new PayloadTooLargeError(`The upload is larger than ${deps.maxUploadBytes} bytes`)
      }
    } else if (mediaType !== 'multipart/form-data') {
      throw new UnsupportedMediaTypeError(`Send multipart/form-data or a video/* body, not "${mediaType || 'nothing'}"`)
    }

    const ticket = quota.begin(addressKey(req.socket.remoteAddress), declared ?? 0)
    let reservation: Awaited<ReturnType<LibraryBudget['reserve']>> | undefined
    try {
      reservation = await budget.reserve(declared ?? 0)
      const meter: Meter = {
        maxBytes: deps.maxUploadBytes,
        received: total => { ticket.received(total); reservation?.received(total) }
      }
      await mkdir(deps.library.uploadsDir, { recursive: true })
      const tmpPath = join(deps.library.uploadsDir, `${randomUUID()}.part`)
      const received = raw == null
        ? await receiveMultipart(req, tmpPath, meter)
        : { ...raw, tmpPath, bytes: await receiveToFile(req, tmpPath, { maxBytes: meter.maxBytes, onData: meter.received, remove }).catch(diskFull) }
      // the slot and the room are free by the time the client reads the answer (an error's, too: see finally)
      await keep(received, deps, res, () => { reservation?.release(); ticket.end() })
    } finally {
      reservation?.release()
      ticket.end()
    }
  }
}

/** Place a received upload in the library and answer with its entry (calling `settled` just before). */
async function keep (received: Received, deps: UploadDeps, res: Response, settled: () => void): Promise<void> {
  let filename: string | undefined
  try {
    if (received.bytes === 0) throw new BadRequestError('The upload is empty')
    filename = await placeInLibrary(received, deps.library.dir)
    const title = received.originalName != null ? titleFromFilename(received.originalName) : undefined
    const { entry, created } = await deps.library.addUploadedFile(filename, { title })
    deps.metrics.addUpload()
    deps.log(`upload ${received.originalName ?? '(no name)'}: ${received.bytes} bytes as ${filename}${created ? '' : `, already held as ${entry.filename}`}`)
    settled()
    res.status(created ? 201 : 200).location(entry.url).json(deps.present?.(entry.contentId) ?? entry)
  } catch (err) {
    if (filename != null) await remove(join(deps.library.dir, filename))
    diskFull(err)
  } finally {
    await remove(received.tmpPath)
  }
}

/** The disk filled up under an upload (ENOSPC, EDQUOT): 507, not 500. */
function diskFull (err: unknown): never {
  const code = (err as NodeJS.ErrnoException)?.code
  if (code === 'ENOSPC' || code === 'EDQUOT') throw new InsufficientStorageError('The server\'s disk is full')
  throw err
}

/**
 * Move the temporary file to the first free `video_<ms>.<ext>`: the name is
 * claimed by creating it exclusively (so two uploads in the same millisecond,
 * or a file already there, are never overwritten), then the upload is renamed
 * over the claim. Works on filesystems without hard links.
 */
async function placeInLibrary (received: Received, dir: string): Promise<string> {
  for (let ms = Date.now(), tries = 0; tries < 1000; ms++, tries++) {
    const filename = `video_${ms}.${received.ext}`
    const path = join(dir, filename)
    try {
      await (await open(path, 'wx')).close()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue
      throw err
    }
    try {
      await rename(received.tmpPath, path)
    } catch (err) {
      await remove(path)
      throw err
    }
    return filename
  }
  throw new HttpError(503, 'No free upload name')
}

function receiveMultipart (req: Request, tmpPath: string, meter: Meter): Promise<Received> {
  return new Promise<Received>((resolve, reject) => {
    let parser: busboy.Busboy
    try {
      parser = busboy({
        headers: req.headers,
        preservePath: true, // see the client's name as sent, to refuse paths rather than strip them
        limits: { files: 1, fields: 20, fieldSize: 64 * 1024, parts: 32, headerPairs: 64 }
      })
    } catch (err) {
      reject(new BadRequestError(`Malformed multipart request: ${(err as Error).message}`))
      return
    }
    let settled = false
    let writing: Promise<Received> | undefined
    const fail = (err: unknown): void => {
      if (settled) return
      settled = true
      req.unpipe(parser)
      req.resume() // read and discard the rest, so the client gets our answer
      parser.destroy()
      // a file being written fails too (the parser's destruction reaches its stream)
      void (writing ?? Promise.resolve()).catch(() => {}).finally(async () => {
        await remove(tmpPath) // a file received whole before the form broke
        reject(err)
      })
    }

    parser.on('file', (_field, stream, info) => {
      stream.on('error', () => {}) // failures reach us through receiveToFile
      if (writing != null || settled) {
        stream.resume()
        return
      }
      let originalName: string | undefined
      let ext: string
      try {
        originalName = originalNameOf(info.filename)
        const partType = info.mimeType.toLowerCase()
        if (!partType.startsWith('video/') && partType !== 'application/octet-stream') {
          throw new UnsupportedMediaTypeError(`The file part is "${partType}", not a video`)
        }
        ext = extensionFor(originalName, partType)
      } catch (err) {
        stream.resume()
        fail(err)
        return
      }
      writing = receiveToFile(stream, tmpPath, { maxBytes: meter.maxBytes, onData: meter.received, remove, sourceError: malformed })
        .catch(diskFull)
        .then(bytes => ({ tmpPath, bytes, originalName, ext }))
      writing.catch(fail)
    })
    parser.on('error', (err: Error) => { fail(malformed(err)) })
    parser.on('close', () => {
      if (settled) return
      if (writing == null) {
        fail(new BadRequestError('The form has no file'))
        return
      }
      writing.then(received => {
        if (settled) return
        settled = true
        resolve(received)
      }, fail)
    })
    req.on('error', fail)
    req.once('close', () => { if (!req.complete) parser.destroy(new Error('The client aborted the upload')) })
    req.pipe(parser)
  })
}

/** The parser's errors are the form's fault (a client that went away is one too, and hears nothing). */
function malformed (err: Error): Error {
  return err instanceof HttpError ? err : new BadRequestError(`Malformed multipart form: ${err.message}`)
}

/** The client's name for the file, checked like any filename; undefined when none was sent. */
function originalNameOf (name: string | undefined): string | undefined {
  if (name == null || name === '') return undefined
  return filenameParam(name)
}

/** The name's extension if it has one (which must be allowed), else the media type's. */
function extensionFor (name: string | undefined, mediaType: string): string {
  const dot = name?.lastIndexOf('.') ?? -1
  if (name != null && dot > 0) {
    const ext = name.slice(dot + 1).toLowerCase()
    if ((UPLOAD_EXTENSIONS as readonly string[]).includes(ext)) return ext
    throw new UnsupportedMediaTypeError(`".${ext}" files are not accepted (only ${UPLOAD_EXTENSIONS.join(', ')})`)
  }
  const ext = EXTENSION_BY_MEDIA_TYPE[mediaType]
  if (ext == null) throw new UnsupportedMediaTypeError(`"${mediaType}" is not a video type we accept`)
  return ext
}

/** `X-Filename` is ASCII on the wire: a non-ASCII name comes percent-encoded. */
function decodeHeader (value: string | undefined): string | undefined {
  if (value == null) return undefined
  try {
    return decodeURIComponent(value)
  } catch {
    throw new BadRequestError('X-Filename is not valid percent-encoding')
  }
}

async function remove (path: string): Promise<void> {
  await rm(path, { force: true })
}
