import type { Request, RequestHandler } from 'express'
import { ForbiddenError } from './errors'
import { TOKEN_HEADER, tokenMatches } from './token'

/**
 * The web origins whose pages may use the bridge: the relay's app (the
 * bridge's `--relay-http`; on loopback under both `localhost` and
 * `127.0.0.1`) and each `--allow-origin`. Not "any localhost port": any
 * program on this machine can serve a page there.
 */
export function appOrigins (relayHttp: string, extra: readonly string[] = []): Set<string> {
  const out = new Set<string>()
  const relay = new URL(relayHttp)
  out.add(relay.origin)
  const port = relay.port === '' ? '' : `:${relay.port}`
  if (relay.hostname === 'localhost') out.add(`${relay.protocol}//127.0.0.1${port}`)
  if (relay.hostname === '127.0.0.1') out.add(`${relay.protocol}//localhost${port}`)
  for (const origin of extra) out.add(new URL(origin).origin)
  return out
}

/**
 * A request a browser made: it says where from (`Origin`) or from which
 * site (`Sec-Fetch-Site`, sent by every current browser on every request).
 * Not `Sec-Fetch-Mode`: Node's own fetch sends that one too.
 */
export function fromBrowser (req: Request): boolean {
  return req.headers.origin != null || req.headers['sec-fetch-site'] != null
}

/**
 * CORS for the app's origins only. A request from any other origin is
 * refused outright (403), not just left unreadable: a page elsewhere must
 * not start or cancel downloads by a "simple" cross-origin POST either.
 * A browser's POST or DELETE must also carry the API token (token.ts),
 * which only those origins' pages can read (`GET /token`).
 */
export function corsGuard (allowed: ReadonlySet<string>, token: string): RequestHandler {
  const list = [...allowed].join(', ')
  return (req, res, next) => {
    const origin = req.headers.origin
    if (origin != null) {
      res.vary('Origin')
      if (!allowed.has(origin)) throw new ForbiddenError(`Origin ${origin} is not allowed: only the app's pages (${list}) may use this API; start the bridge with --allow-origin to add one`)
      res.setHeader('Access-Control-Allow-Origin', origin)
      res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges, ETag')
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, DELETE, OPTIONS')
        res.setHeader('Access-Control-Allow-Headers', `Content-Type, Range, ${TOKEN_HEADER}`)
        res.setHeader('Access-Control-Max-Age', '600')
        res.status(204).end()
        return
      }
    }
    const mutating = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS'
    if (mutating && fromBrowser(req) && !tokenMatches(req.get(TOKEN_HEADER), token)) {
      throw new ForbiddenError(`A page's ${req.method} must carry the bridge's token in ${TOKEN_HEADER} (GET /token, from the app's origin)`)
    }
    next()
  }
}

/** `GET /token`: the API token, for a page of an allowed origin only (corsGuard let it through; no Origin, no token). */
export function tokenHandler (token: string): RequestHandler {
  return (req, res) => {
    if (req.headers.origin == null) throw new ForbiddenError('The token is for the app\'s pages (a request with an Origin); local programs need none')
    res.setHeader('Cache-Control', 'no-store')
    res.json({ token })
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Whether a server bound to `listenHost` only answers on loopback. */
export function isLoopbackHost (listenHost: string): boolean {
  return LOOPBACK_NAMES.has(listenHost) || listenHost === '::1' || listenHost.startsWith('127.')
}

/** Whether a `Host` header (port included or not) names this machine's loopback. */
export function isLoopbackHostHeader (header: string | undefined): boolean {
  const host = (header ?? '').toLowerCase().replace(/:\d{1,5}$/, '')
  return LOOPBACK_NAMES.has(host) || (host.startsWith('127.') && /^[\d.]+$/.test(host))
}

/**
 * When the API listens on loopback, a `Host` header naming anything else
 * is a DNS-rebinding attempt (a remote name resolved to 127.0.0.1): 403.
 */
export function hostGuard (listenHost: string): RequestHandler {
  const loopback = isLoopbackHost(listenHost)
  return (req, _res, next) => {
    if (!loopback) return next()
    if (!isLoopbackHostHeader(req.headers.host)) {
      const host = (req.headers.host ?? '').toLowerCase().replace(/:\d{1,5}$/, '')
      throw new ForbiddenError(`Host "${host}" is not allowed: this API answers on loopback names only`)
    }
    next()
  }
}
