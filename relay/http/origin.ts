import type { Request, RequestHandler } from 'express'
import { appOrigins, fromBrowser } from '../../node-bridge/rest/guards'
import { ForbiddenError } from './errors'

/**
 * The origins of the relay's own web app, as this request reached it: the
 * scheme (https on a TLS socket), address and port it came in on (so a relay bound to every interface
 * knows the address a page used), with `localhost` and `127.0.0.1` as one
 * on loopback, and each `--allow-origin` (a reverse proxy's public origin,
 * a dev server).
 */
export function servedOrigins (req: Request, allowOrigins: readonly string[]): Set<string> {
  const local = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:(?=\d)/i, '')
  const host = local.includes(':') ? `[${local}]` : local
  const scheme = (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http'
  return appOrigins(`${scheme}://${host}:${req.socket.localPort ?? 80}`, allowOrigins)
}

/**
 * Only the app's pages, and programs, get past: a request a browser made
 * (`Origin` or `Sec-Fetch-Site`, as the bridge's REST tells them:
 * node-bridge/rest/guards.ts) must come from one of `servedOrigins`; one
 * without `Origin` must say `Sec-Fetch-Site: same-origin`. A program (curl)
 * sends neither and passes. Anything else is refused with 403 before the
 * body is read, and the connection is closed rather than drained: a page
 * elsewhere (a no-cors form POST, which carries its `Origin`) costs the
 * relay no more than its headers.
 *
 * An allowed origin gets CORS (its own origin back) and its preflight
 * answered, so a page of an `--allow-origin` can send what the app sends
 * (a `video/*` body with `X-Filename`) and read the answer.
 */
export function appOriginGuard (allowOrigins: readonly string[]): RequestHandler {
  return (req, res, next) => {
    if (!fromBrowser(req)) return next()
    const origin = req.headers.origin
    const allowed = servedOrigins(req, allowOrigins)
    if (origin == null ? req.headers['sec-fetch-site'] !== 'same-origin' : !allowed.has(origin)) {
      res.setHeader('Connection', 'close')
      throw new ForbiddenError(`${origin == null ? `A ${String(req.headers['sec-fetch-site'])} request` : `Origin ${origin}`} may not upload: only the relay's own pages (${[...allowed].join(', ')}) may; start the relay with --allow-origin to add one`)
    }
    if (origin == null) return next()
    res.vary('Origin')
    res.setHeader('Access-Control-Allow-Origin', origin)
    res.setHeader('Access-Control-Expose-Headers', 'Location, Retry-After')
    if (req.method !== 'OPTIONS') return next()
    res.setHeader('Access-Control-Allow-Methods', 'POST')
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Filename')
    res.setHeader('Access-Control-Max-Age', '600')
    res.status(204).end()
  }
}
