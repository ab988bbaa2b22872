import type { RequestHandler, Response } from 'express'
import { z } from 'zod'
import { normalizeFilename } from '@core/content/filename'
import { contentIdOf, parseManifest, type ContentId, type Manifest } from '@core/content/manifest'
import type { Catalogue } from '../catalogue'
import { SlidingWindowLimit, type PublishLimits } from '../published/limits'
import type { HolderCheck } from '../published/index'
import { BadRequestError, HttpError, UnsupportedMediaTypeError } from './errors'
import { readJsonBody } from './json-body'
import { parseOrBadRequest } from './params'

export interface PublishDeps {
  catalogue: Catalogue
  /** Proves that the publishing peer holds the content (relay/published/holder-check.ts). */
  checkHolder: HolderCheck
  limits: PublishLimits
  log: (msg: string) => void
  now?: () => number
}

/** The largest `POST /publish` body: a manifest of ~120,000 chunks (30 GiB in 256 KiB chunks). */
export const MAX_PUBLISH_BODY_BYTES = 8 * 1024 * 1024

/** A video's chunks are all different: past this share of repeats, a manifest is not a video (a file of zeros is one chunk repeated). */
export const MAX_REPEATED_CHUNK_SHARE = 0.01

const DAY_MS = 24 * 60 * 60_000

const publishBodySchema = z.object({
  manifest: z.custom<unknown>(value => value !== undefined, 'the manifest is missing'),
  /** The libp2p peer id of the publishing tab or bridge, connected to this relay and holding the chunks. */
  peerId: z.string({ message: 'the publishing peer\'s id is missing (the relay fetches a few chunks from it before listing the video)' }).min(1).max(128),
  title: z.string().max(1000).optional(),
  /** Seconds, as the publishing browser read them (a <video>'s metadata): shown on cards; a week at most. */
  duration: z.number().positive().max(7 * 24 * 3600).optional()
})

/**
 * `POST /publish` with `{ "manifest": …, "peerId": …, "title"?: …, "duration"?: … }`
 * (application/json): list a video a peer hashed and seeds, without its bytes.
 *
 * In order, each refusal a JSON `{ error }` that says why, nothing stored:
 * 429 (with Retry-After) past the requests an address may make a minute;
 * 415 for a body that is not UTF-8 JSON; 413 past MAX_PUBLISH_BODY_BYTES,
 * from `Content-Length` before the body is read, or as soon as a body
 * without one passes it; 400 for a manifest that does not hold together, a
 * name with control or bidirectional characters (names are stored NFC),
 * or one whose chunks repeat; 415 for a manifest that is not a video.
 * Content the catalogue already shows answers `200 { entry }`. Then: 409
 * for a name another video is listed under (a library file's name never
 * goes to a published video); 429 past the videos a peer or an address may
 * list in 24 h; 422 unless the relay, over its own connection to `peerId`,
 * fetched a few random chunks from it and each matched the manifest; 507
 * when the catalogue is full. Else `201 { entry }`.
 *
 * Same-origin only: no CORS headers, and a JSON body needs a preflight that
 * other origins never pass.
 */
export function publishHandlers (deps: PublishDeps): RequestHandler[] {
  const now = deps.now ?? Date.now
  const requests = new SlidingWindowLimit(deps.limits.requestsPerMinutePerAddress, 60_000, now)
  const byAddress = new SlidingWindowLimit(deps.limits.publishesPerDayPerAddress, DAY_MS, now)
  const byPeer = new SlidingWindowLimit(deps.limits.publishesPerDayPerPeer, DAY_MS, now)

  const publish: RequestHandler = async (req, res) => {
    const address = req.socket.remoteAddress ?? 'unknown'
    let raw: unknown
    try {
      throttle(res, requests.wait(address), `Too many publish requests from your address: at most ${requests.limit} a minute`)
      requests.record(address)
      raw = await readJsonBody(req, MAX_PUBLISH_BODY_BYTES)
    } catch (err) {
      // the rest of the body is never read: the connection cannot serve another request
      res.setHeader('Connection', 'close')
      throw err
    }
    const body = parseOrBadRequest(publishBodySchema, raw ?? {}, 'request: send { "manifest": …, "peerId": …, "title"?: … }')
    const manifest = checkManifest(body.manifest)
    const contentId = await contentIdOf(manifest)

    const listed = deps.catalogue.entry(contentId)
    if (listed != null) {
      res.setHeader('Cache-Control', 'no-store')
      res.status(200).location(`/manifest/${contentId}`).json({ entry: listed })
      return
    }
    const taken = deps.catalogue.nameTaken(manifest.name)
    if (taken != null) throw new HttpError(409, `The name "${manifest.name}" is taken: ${taken}. Rename the file and publish it again`)
    throttle(res, byAddress.wait(address), `Your address has published ${byAddress.limit} videos in 24 hours, the most this relay lists from one address`)
    throttle(res, byPeer.wait(body.peerId), `This peer has published ${byPeer.limit} videos in 24 hours, the most this relay lists from one peer`)

    await check(deps.checkHolder, body.peerId, manifest, contentId)

    let published: Awaited<ReturnType<Catalogue['publish']>>
    try {
      published = await deps.catalogue.publish(manifest, { title: body.title, duration: body.duration, uniqueName: true })
    } catch (err) {
      const name = (err as Error)?.name
      if (name === 'PublishedCatalogueFullError') throw new HttpError(507, (err as Error).message)
      if (name === 'NameTakenError') throw new HttpError(409, (err as Error).message)
      throw err
    }
    const { entry, created } = published
    if (created) {
      byAddress.record(address)
      byPeer.record(body.peerId)
    }
    deps.log(`publish ${manifest.name} (${manifest.size} bytes) from peer ${body.peerId} at ${address}: ${entry.contentId}${created ? '' : ', already listed'}`)
    res.setHeader('Cache-Control', 'no-store')
    res.status(created ? 201 : 200).location(`/manifest/${entry.contentId}`).json({ entry })
  }

  return [publish]
}

/** 429 with Retry-After (whole seconds) when `waitMs` > 0. */
function throttle (res: Response, waitMs: number, what: string): void {
  if (waitMs <= 0) return
  const seconds = Math.ceil(waitMs / 1000)
  res.setHeader('Retry-After', String(seconds))
  throw new HttpError(429, `${what}: try again in ${seconds} s`)
}

async function check (checkHolder: HolderCheck, peerId: string, manifest: Manifest, contentId: ContentId): Promise<void> {
  try {
    await checkHolder(peerId, manifest, contentId)
  } catch (err) {
    switch ((err as Error)?.name) {
      case 'InvalidPeerIdError': throw new BadRequestError((err as Error).message)
      case 'HolderNotConnectedError':
      case 'HolderCheckFailedError': throw new HttpError(422, (err as Error).message)
      default: throw err
    }
  }
}

/** A manifest a person can be told what is wrong with: the name first, then the schema, then the type, then repeats. */
function checkManifest (value: unknown): Manifest {
  const name = (value as { name?: unknown } | null)?.name
  let normalized: unknown = value
  if (typeof name === 'string') {
    try {
      normalized = { ...(value as object), name: normalizeFilename(name) }
    } catch (err) {
      throw new BadRequestError(`The manifest's name is not allowed: ${(err as Error).message.replace(/^Invalid filename: /, '')}`)
    }
  }
  let manifest: Manifest
  try {
    manifest = parseManifest(normalized)
  } catch (err) {
    throw new BadRequestError((err as Error).message)
  }
  if (!manifest.mime.toLowerCase().startsWith('video/')) {
    throw new UnsupportedMediaTypeError(`Only videos can be published: "${manifest.mime}" is not a video type`)
  }
  const repeats = manifest.hashes.length - new Set(manifest.hashes).size
  if (repeats > Math.floor(manifest.hashes.length * MAX_REPEATED_CHUNK_SHARE)) {
    throw new BadRequestError(`The manifest repeats ${repeats} of its ${manifest.hashes.length} chunks: a video's chunks all differ, so this is not one`)
  }
  return manifest
}
