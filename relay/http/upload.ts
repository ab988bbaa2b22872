import { randomUUID } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Request, RequestHandler } from 'express'
import busboy from 'busboy'
import type { Library } from '../library/index'
import { titleFromFilename } from '../library/index'
import type { RelayMetrics } from '../metrics'
import { BadRequestError, HttpError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors'
import { filenameParam, parseOrBadRequest, uploadHeadersSchema, uploadQuerySchema } from './params'
import { receiveToFile } from './receive'

export interface UploadDeps {
  library: Library
  metrics: RelayMetrics
  maxUploadBytes: number
  log: (msg: string) => void
  /** The entry as `GET /list` shows it (with peer counts); default: the library's. */
  present?: (contentId: string) => object | undefined
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
 */
export function uploadHandler (deps: UploadDeps): RequestHandler {
  return async (req, res) => {
    const headers = parseOrBadRequest(uploadHeadersSchema, req.headers, 'headers')
    const mediaType = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
    await mkdir(deps.library.uploadsDir, { recursive: true })
    const tmpPath = join(deps.library.uploadsDir, `${randomUUID()}.part`)

    let received: Received
    if (mediaType === 'multipart/form-data') {
      received = await receiveMultipart(req, tmpPath, deps)
    } else if (mediaType.startsWith('video/')) {
      const query = parseOrBadRequest(uploadQuerySchema, req.query, 'query')
      const originalName = originalNameOf(query.name ?? decodeHeader(headers['x-filename']))
      const ext = extensionFor(originalName, mediaType)
      if (headers['content-length'] != null && Number(headers['content-length']) > deps.maxUploadBytes) {
        throw new PayloadTooLargeError(`The upload is larger than ${deps.maxUploadBytes} bytes`)
      }
      const bytes = await receiveToFile(req, tmpPath, { maxBytes: deps.maxUploadBytes, remove })
      received = { tmpPath, bytes, originalName, ext }
    } else {
      throw new UnsupportedMediaTypeError(`Send multipart/form-data or a video/* body, not "${mediaType || 'nothing'}"`)
    }

    let filename: string | undefined
    try {
      if (received.bytes === 0) throw new BadRequestError('The upload is empty')
      filename = await placeInLibrary(received, deps.library.dir)
      const title = received.originalName != null ? titleFromFilename(received.originalName) : undefined
      const { entry, created } = await deps.library.addUploadedFile(filename, { title })
      deps.metrics.addUpload()
      deps.log(`upload ${received.originalName ?? '(no name)'}: ${received.bytes} bytes as ${filename}${created ? '' : `, already held as ${entry.filename}`}`)
      res.status(created ? 201 : 200).location(entry.url).json(deps.present?.(entry.contentId) ?? entry)
    } catch (err) {
      if (filename != null) await remove(join(deps.library.dir, filename))
      throw err
    } finally {
      await remove(received.tmpPath)
    }
  }
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

function receiveMultipart (req: Request, tmpPath: string, deps: UploadDeps): Promise<Received> {
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
      writing = receiveToFile(stream, tmpPath, { maxBytes: deps.maxUploadBytes, remove, sourceError: malformed })
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
