import { join, resolve } from 'node:path'
import express, { type ErrorRequestHandler, type RequestHandler } from 'express'
import type { Catalogue } from '../catalogue'
import type { Library } from '../library/index'
import type { RelayMetrics } from '../metrics'
import { HttpError, NotFoundError, ServiceUnavailableError, TooManyRequestsError } from './errors'
import type { CatalogueEvents } from './events'
import { manifestHandler } from './manifest'
import { appOriginGuard } from './origin'
import { publishHandlers, type PublishDeps } from './publish'
import { UPLOAD_LIMITS_DEFAULTS, uploadHandler, type UploadLimits } from './upload'
import { videosHandler } from './videos'

export interface HttpAppDeps {
  library: Library
  /** The library and the browser-published videos, with peer counts. */
  catalogue: Catalogue
  /** `GET /events`; the owner closes it before closing the server. */
  events: CatalogueEvents
  metrics: RelayMetrics
  /** The built web app (dist/web), served at `/`. */
  webRoot: string
  /** Largest upload accepted, in bytes (413 past it). */
  maxUploadBytes: number
  /** Who may upload and how much: other origins allowed, per-address quotas, the library's disk budget (defaults: UPLOAD_LIMITS_DEFAULTS). */
  uploadLimits?: UploadLimits
  logger?: (msg: string) => void
  /** `POST /publish`: how the relay checks that the publisher holds the video, and its quotas. */
  publish: Pick<PublishDeps, 'checkHolder' | 'limits' | 'now'>
  /** What `GET /info` answers: the relay's peer id and multiaddrs, its ICE servers (fresh TURN credentials each time). */
  relayInfo?: () => unknown
}

/** The paths the API owns: never answered with the web app's index.html. */
const API_PATH = /^\/(health|list|manifest|info|videos|upload|publish|events|metrics)(\/|$)/i

/**
 * The relay's HTTP side: web app, catalogue (and its live stream),
 * manifests, the origin's video bytes (with ranges), uploads, publications
 * from browsers and metrics. It never listens: main.ts does
 * (and should raise the server's `requestTimeout` if uploads may take longer
 * than Node's default of 5 minutes).
 *
 * Every error is JSON `{ "error": message }` with a fitting status.
 */
export function createHttpApp (deps: HttpAppDeps): express.Application {
  const { library, catalogue, metrics } = deps
  const log = deps.logger ?? (() => {})
  const webRoot = resolve(deps.webRoot)
  const app = express()
  app.disable('x-powered-by')

  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff')
    next()
  })
  // The catalogue, manifests and videos are public and read-only: any page may
  // read them (a site embedding our player, a peer's page on another origin),
  // and since no cookie or credential is involved, `*` gives nothing away.
  // Metrics and the app itself stay same-origin; uploads take the app's
  // origins only, each `--allow-origin` with CORS (origin.ts).
  app.use(['/list', '/manifest', '/videos'], (req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*')
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges, ETag')
    if (req.method !== 'OPTIONS') return next()
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD')
    res.setHeader('Access-Control-Allow-Headers', 'Range, If-Range, If-None-Match, If-Modified-Since')
    res.setHeader('Access-Control-Max-Age', '86400')
    res.status(204).end()
  })

  app.route('/health').get((_req, res) => {
    res.type('text/plain').send('OK')
  }).all(methodNotAllowed('GET, HEAD'))

  app.route('/list').get((_req, res) => {
    res.setHeader('Cache-Control', 'no-cache')
    res.json(catalogue.list())
  }).all(methodNotAllowed('GET, HEAD'))

  app.route('/events').get(deps.events.handler).all(methodNotAllowed('GET, HEAD'))

  app.route('/manifest/:filenameOrId').get(manifestHandler({ catalogue })).all(methodNotAllowed('GET, HEAD'))

  app.route('/info').get((_req, res) => {
    if (deps.relayInfo == null) throw new NotFoundError('This relay publishes no info')
    let info: unknown
    try {
      info = deps.relayInfo()
    } catch (err) {
      throw new ServiceUnavailableError(`Relay info is not available: ${(err as Error).message}`)
    }
    // each answer carries TURN credentials of its own: no cache may keep one
    res.setHeader('Cache-Control', 'no-store')
    res.json(info ?? null)
  }).all(methodNotAllowed('GET, HEAD'))

  app.route('/videos/:filename').get(videosHandler({ library, metrics, log, peerOnly: name => catalogue.peerOnly(name) }))
    .all(methodNotAllowed('GET, HEAD'))

  const uploadLimits = deps.uploadLimits ?? UPLOAD_LIMITS_DEFAULTS
  app.route('/upload').all(appOriginGuard(uploadLimits.allowOrigins))
    .post(uploadHandler({ library, metrics, maxUploadBytes: deps.maxUploadBytes, log, present: id => catalogue.entry(id), limits: uploadLimits }))
    .all(methodNotAllowed('POST'))

  app.route('/publish').post(publishHandlers({ ...deps.publish, catalogue, log })).all(methodNotAllowed('POST'))

  app.route('/metrics').get(async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.type(metrics.contentType).send(await metrics.text())
  }).all(methodNotAllowed('GET, HEAD'))

  // More than one path segment after /videos/ or /manifest/ (`a/b`, `../x` sent raw) is never a filename.
  app.all(['/videos/*rest', '/manifest/*rest'], (_req, _res) => {
    throw new HttpError(400, 'Invalid filename: it contains a path separator')
  })

  app.use(express.static(webRoot, { index: 'index.html', dotfiles: 'ignore', fallthrough: true }))

  // The web app routes in the browser: a navigation to an unknown path gets index.html.
  app.use((req, res, next) => {
    const wantsPage = (req.method === 'GET' || req.method === 'HEAD') &&
      !API_PATH.test(req.path) && (req.headers.accept ?? '').includes('text/html')
    if (!wantsPage) return next()
    res.sendFile(join(webRoot, 'index.html'), { dotfiles: 'deny' }, err => {
      if (err != null && !res.headersSent) next(new NotFoundError('No such page'))
    })
  })

  app.use((req, _res, next) => { next(new NotFoundError(`Nothing at ${req.method} ${req.path}`)) })
  app.use(errorHandler(log))
  return app
}

function methodNotAllowed (allow: string): RequestHandler {
  return (_req, res) => {
    res.setHeader('Allow', allow)
    throw new HttpError(405, `Method not allowed (allowed: ${allow})`)
  }
}

function errorHandler (log: (msg: string) => void): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const { status, message } = describe(err)
    if (status >= 500) log(`${req.method} ${req.originalUrl}: ${(err as Error)?.stack ?? String(err)}`)
    if (res.headersSent) {
      res.destroy()
      return
    }
    res.setHeader('Cache-Control', 'no-store')
    if (err instanceof TooManyRequestsError) res.setHeader('Retry-After', String(err.retryAfterSeconds))
    res.status(status).json({ error: message })
  }
}

function describe (err: unknown): { status: number, message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message }
  const e = err as { name?: unknown, message?: unknown, status?: unknown, statusCode?: unknown, expose?: unknown } | null
  if (e?.name === 'InvalidFilenameError' || e?.name === 'ClientAbortedError') return { status: 400, message: String(e.message) }
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500
  if (status >= 400 && status < 500) return { status, message: e?.expose === false ? 'Bad request' : String(e?.message ?? 'Bad request') }
  return { status: 500, message: 'Internal server error' }
}
