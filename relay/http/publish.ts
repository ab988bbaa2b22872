import express, { type RequestHandler } from 'express'
import { z } from 'zod'
import { checkFilename } from '@core/content/filename'
import { parseManifest, type Manifest } from '@core/content/manifest'
import type { Catalogue } from '../catalogue'
import { BadRequestError, HttpError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors'
import { parseOrBadRequest } from './params'

export interface PublishDeps {
  catalogue: Catalogue
  log: (msg: string) => void
}

/** The largest `POST /publish` body: a manifest of ~120,000 chunks (30 GiB in 256 KiB chunks). */
export const MAX_PUBLISH_BODY_BYTES = 8 * 1024 * 1024

const publishBodySchema = z.object({
  manifest: z.custom<unknown>(value => value !== undefined, 'the manifest is missing'),
  title: z.string().max(1000).optional(),
  /** Seconds, as the publishing browser read them (a <video>'s metadata): shown on cards; a week at most. */
  duration: z.number().positive().max(7 * 24 * 3600).optional()
})

/**
 * `POST /publish` with `{ "manifest": …, "title"?: … }` (application/json):
 * list a video a browser hashed and seeds, without its bytes. Answers
 * `201 { entry }` for a new entry, `200 { entry }` when the catalogue already
 * shows this content (library or published), 400 for a manifest that does
 * not hold together, 413 past MAX_PUBLISH_BODY_BYTES, 415 for a body that is
 * not JSON or a manifest that is not a video, 507 when the catalogue is full.
 * Same-origin only: no CORS headers, and a JSON body needs a preflight that
 * other origins never pass.
 */
export function publishHandlers (deps: PublishDeps): RequestHandler[] {
  const parseJson = express.json({ limit: MAX_PUBLISH_BODY_BYTES, strict: true, type: () => true })

  const requireJson: RequestHandler = (req, _res, next) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
    if (type !== 'application/json') throw new UnsupportedMediaTypeError(`Send the manifest as application/json, not "${type || 'nothing'}"`)
    next()
  }

  const readBody: RequestHandler = (req, res, next) => {
    parseJson(req, res, (err?: unknown) => { next(err == null ? undefined : bodyError(err)) })
  }

  const publish: RequestHandler = async (req, res) => {
    const body = parseOrBadRequest(publishBodySchema, req.body ?? {}, 'request: send { "manifest": …, "title"?: … }')
    const manifest = checkManifest(body.manifest)
    let published: Awaited<ReturnType<Catalogue['publish']>>
    try {
      published = await deps.catalogue.publish(manifest, body.title, body.duration)
    } catch (err) {
      if ((err as Error)?.name === 'PublishedCatalogueFullError') throw new HttpError(507, (err as Error).message)
      throw err
    }
    const { entry, created } = published
    deps.log(`publish ${manifest.name} (${manifest.size} bytes): ${entry.contentId}${created ? '' : ', already listed'}`)
    res.setHeader('Cache-Control', 'no-store')
    res.status(created ? 201 : 200).location(`/manifest/${entry.contentId}`).json({ entry })
  }

  return [requireJson, readBody, publish]
}

/** A manifest a person can be told what is wrong with: the name first, then the schema, then the type. */
function checkManifest (value: unknown): Manifest {
  const name = (value as { name?: unknown } | null)?.name
  if (typeof name === 'string') {
    try {
      checkFilename(name)
    } catch (err) {
      throw new BadRequestError(`The manifest's name is not allowed: ${(err as Error).message.replace(/^Invalid filename: /, '')}`)
    }
  }
  let manifest: Manifest
  try {
    manifest = parseManifest(value)
  } catch (err) {
    throw new BadRequestError((err as Error).message)
  }
  if (!manifest.mime.toLowerCase().startsWith('video/')) {
    throw new UnsupportedMediaTypeError(`Only videos can be published: "${manifest.mime}" is not a video type`)
  }
  return manifest
}

/** body-parser's failures, said plainly. */
function bodyError (err: unknown): unknown {
  const e = err as { type?: unknown, message?: unknown }
  switch (e?.type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(`The request is larger than ${MAX_PUBLISH_BODY_BYTES / 1024 / 1024} MiB: this relay takes manifests up to that size`)
    case 'entity.parse.failed':
      return new BadRequestError(`The body is not valid JSON: ${String(e.message)}`)
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError(`Send the manifest as UTF-8 JSON: ${String(e.message)}`)
    default:
      return err
  }
}
