import express, { type RequestHandler } from 'express'
import type { DownloadManager } from '../downloads/manager'
import type { DownloadStatus } from '../downloads/status'
import { UnsupportedMediaTypeError } from './errors'
import { downloadBodySchema, filenameParam, parseOrBadRequest } from './params'
import { messages, type Lang } from '../messages'

/** Largest `POST /download` body: 413 past it. */
export const MAX_BODY_BYTES = 64 * 1024

/** `POST /download` answers (200). */
export interface DownloadReply {
  /** `started`, `queued`, or for a download already known: `completed` (in the cache), `downloading`, `queued`. */
  status: 'started' | 'queued' | 'downloading' | 'completed'
  message: string
  filename: string
  /** True when the file is already in the cache (nothing is downloaded again). */
  cached: boolean
  /** The download's `/status` entry. */
  download: DownloadStatus
}

const json = express.json({ limit: MAX_BODY_BYTES, strict: true, type: () => true })

/**
 * The body must say it is JSON: `Content-Type: application/json` (or
 * `+json`). A form or text/plain POST, which a page on any site could send
 * without a preflight, is refused (415) before the body is read.
 */
const requireJson: RequestHandler = (req, _res, next) => {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    throw new UnsupportedMediaTypeError(`The body must be JSON (Content-Type: application/json), not "${type || 'none'}"`)
  }
  next()
}

/** `POST /download` `{"filename": "..."}`: start, queue, or say it is there already. */
export function postDownload (deps: { manager: DownloadManager, lang?: Lang }): RequestHandler[] {
  const m = messages(deps.lang ?? 'en')
  return [requireJson, json, async (req, res) => {
    const { filename } = parseOrBadRequest(downloadBodySchema, req.body, 'body')
    filenameParam(filename)
    const { outcome, job } = await deps.manager.request(filename)
    const download = job.snapshot()
    let reply: DownloadReply
    if (outcome === 'started') {
      reply = { status: 'started', message: m.restStarted, filename, cached: false, download }
    } else if (outcome === 'queued') {
      reply = { status: 'queued', message: m.restQueued, filename, cached: false, download }
    } else if (outcome === 'waiting') {
      reply = { status: 'queued', message: m.restWaitingForSource, filename, cached: false, download }
    } else if (job.state === 'seeding' || job.state === 'completed') {
      reply = { status: 'completed', message: m.restCached(job.filename === filename ? undefined : job.filename), filename, cached: true, download }
    } else {
      reply = { status: job.state === 'downloading' ? 'downloading' : 'queued', message: job.waitingForSource ? m.restWaitingForSource : m.restAlreadyDownloading, filename, cached: false, download }
    }
    res.json(reply)
  }]
}

/** `DELETE /download/:filename`: cancel, and delete the partial file. */
export function deleteDownload (deps: { manager: DownloadManager, lang?: Lang }): RequestHandler {
  const m = messages(deps.lang ?? 'en')
  return async (req, res) => {
    const filename = filenameParam(req.params.filename)
    const job = await deps.manager.cancel(filename)
    res.json({ status: 'cancelled', message: m.restCancelled, filename, download: job.snapshot() })
  }
}
