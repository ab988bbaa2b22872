import express, { type ErrorRequestHandler, type RequestHandler } from 'express'
import type { ChunkStore } from '@core/store/types'
import type { DownloadManager } from '../downloads/manager'
import type { CatalogueEntry } from '../relay-http'
import type { BridgeStats } from '../stats'
import { deleteDownload, postDownload } from './downloads'
import type { Lang } from '../messages'
import { BadRequestError, describeError, MethodNotAllowedError, NotFoundError } from './errors'
import { eventsHandler } from './events'
import { corsGuard, hostGuard, tokenHandler } from './guards'
import { openApiDocument } from './openapi'
import { streamHandler, type StreamDeps } from './stream'

export interface RestDeps {
  manager: DownloadManager
  store: StreamDeps['store'] & Pick<ChunkStore, 'getChunk'> & { isComplete(contentId: string): boolean }
  /** The body of `GET /stats`. */
  stats(): Promise<BridgeStats>
  /** The relay's catalogue (`GET /list`). */
  catalogue(): Promise<CatalogueEntry[]>
  metrics: { contentType: string, text(): Promise<string> }
  /** The interface the API listens on: on loopback, other `Host` names are refused. */
  listenHost?: string
  /** The web origins whose pages may call the API (guards.ts `appOrigins`). */
  allowedOrigins: ReadonlySet<string>
  /** The per-install token a page's POST and DELETE carry (token.ts). */
  token: string
  /** The language of the `message` texts (English by default). */
  lang?: Lang
  log?: (msg: string) => void
}

/**
 * The bridge's REST API (the seed's contract, `docs/contracts/rest-9090.md`,
 * plus cancel, catalogue, events, metrics and the OpenAPI description). It
 * never listens: bridge.ts does. Every error is JSON `{ "error": message }`;
 * a bad request is answered and forgotten, it never touches a download.
 */
export function createRestApp (deps: RestDeps): express.Application {
  const log = deps.log ?? (() => {})
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff')
    next()
  })
  app.use(hostGuard(deps.listenHost ?? '127.0.0.1'))
  app.use(corsGuard(deps.allowedOrigins, deps.token))

  const noStore: RequestHandler = (_req, res, next) => { res.setHeader('Cache-Control', 'no-store'); next() }

  app.route('/health').get((_req, res) => {
    res.type('text/plain').send('OK')
  }).all(methodNotAllowed('GET, HEAD'))

  app.route('/token').get(tokenHandler(deps.token)).all(methodNotAllowed('GET, HEAD'))

  app.route('/stats').get(noStore, async (_req, res) => {
    res.json(await deps.stats())
  }).all(methodNotAllowed('GET, HEAD'))

  app.route('/status').get(noStore, (_req, res) => {
    res.json(deps.manager.status())
  }).all(methodNotAllowed('GET, HEAD'))

  app.route('/download').post(noStore, ...postDownload(deps)).all(methodNotAllowed('POST'))
  app.route('/download/:filename').delete(noStore, deleteDownload(deps)).all(methodNotAllowed('DELETE'))

  app.route('/stream/:filename').get(streamHandler({ manager: deps.manager, store: deps.store, log })).all(methodNotAllowed('GET, HEAD'))

  app.route('/list').get(noStore, async (_req, res) => {
    const entries = await deps.catalogue()
    res.json(entries.map(e => ({ ...e, cached: deps.store.isComplete(e.contentId) })))
  }).all(methodNotAllowed('GET, HEAD'))

  app.route('/events').get(eventsHandler(deps)).all(methodNotAllowed('GET'))

  app.route('/metrics').get(noStore, async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.text())
  }).all(methodNotAllowed('GET, HEAD'))

  app.route('/openapi.json').get((_req, res) => {
    res.json(openApiDocument())
  }).all(methodNotAllowed('GET, HEAD'))

  // More than one path segment (`a/b`, `../x` sent raw) is never a filename.
  app.all(['/stream/*rest', '/download/*rest'], () => {
    throw new BadRequestError('Invalid filename: it contains a path separator')
  })

  app.use((req, _res, next) => { next(new NotFoundError(`Nothing at ${req.method} ${req.path}`)) })
  app.use(errorHandler(log))
  return app
}

function methodNotAllowed (allow: string): RequestHandler {
  return (_req, res) => {
    res.setHeader('Allow', allow)
    throw new MethodNotAllowedError(`Method not allowed (allowed: ${allow})`)
  }
}

function errorHandler (log: (msg: string) => void): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const { status, message } = describeError(err)
    if (status === 500) log(`${req.method} ${req.originalUrl}: ${(err as Error)?.stack ?? String(err)}`)
    if (res.headersSent) {
      res.destroy()
      return
    }
    res.setHeader('Cache-Control', 'no-store')
    res.status(status).json({ error: message })
  }
}
