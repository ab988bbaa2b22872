import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import type { RequestHandler } from 'express'
import type { Catalogue } from '../catalogue'
import { HttpError, NotFoundError } from './errors'
import { filenameOrIdParam } from './params'

/**
 * `GET /manifest/:filenameOrId` → `{ contentId, manifest, url?, relay? }`: a client
 * checks it with verifyManifest(manifest, contentId) (and that contentId is
 * the one it asked for). `url` is there when the relay serves the bytes,
 * `relay` (a peer id) when another relay of the network does.
 * By id the answer never changes (cached for a year); by name it may.
 * `ETag` is the content id, and `If-None-Match` with it answers 304.
 *
 * A published manifest (up to 8 MiB of JSON) is streamed from its file as
 * stored, between a fixed head and tail: never parsed, re-serialised or
 * held whole in memory per request, so many readers of a large one do not
 * stall the relay.
 *
 * Another relay's video: its manifest is asked of that relay and verified
 * against the content id first; when that fails (unreachable, or a
 * manifest that is not this content's), 502 and nothing is kept.
 */
export function manifestHandler (deps: { catalogue: Catalogue }): RequestHandler {
  return async (req, res) => {
    const key = filenameOrIdParam(req.params.filenameOrId)
    const source = await deps.catalogue.manifestSource(key).catch((err: Error) => {
      throw err.name === 'RemoteManifestError' ? new HttpError(502, err.message) : err
    })
    if (source == null) throw new NotFoundError('No such video')
    const etag = `"${source.contentId}"`
    res.setHeader('Cache-Control', 'contentId' in key ? 'public, max-age=31536000, immutable' : 'no-cache')
    res.setHeader('ETag', etag)
    if ((req.headers['if-none-match'] ?? '').split(',').some(t => t.trim().replace(/^W\//, '') === etag)) {
      res.status(304).end()
      return
    }
    if ('manifest' in source) {
      res.json(source)
      return
    }
    let size: number
    try {
      size = (await stat(source.file)).size
    } catch {
      throw new NotFoundError('No such video')
    }
    const head = Buffer.from(`{"contentId":${JSON.stringify(source.contentId)},"manifest":`)
    const tail = Buffer.from('}')
    res.status(200).type('application/json; charset=utf-8').setHeader('Content-Length', String(head.byteLength + size + tail.byteLength))
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    res.write(head)
    try {
      await pipeline(createReadStream(source.file), res, { end: false })
    } catch (err) {
      if (res.destroyed) return // the client went away: nothing to answer
      throw err
    }
    res.end(tail)
  }
}
