import type { RequestHandler } from 'express'
import { ForbiddenError } from './errors'

/** The only origins a page may call the API from: `http://localhost:*` and `http://127.0.0.1:*`. */
export const ALLOWED_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/

/**
 * CORS for localhost pages only. A request from any other origin is refused
 * outright (403), not just left unreadable: a page elsewhere must not start
 * or cancel downloads by a "simple" cross-origin POST either.
 */
export function corsGuard (): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin
    if (origin == null) return next()
    res.vary('Origin')
    if (!ALLOWED_ORIGIN.test(origin)) throw new ForbiddenError(`Origin ${origin} is not allowed: only http://localhost:* and http://127.0.0.1:* pages may use this API`)
    res.setHeader('Access-Control-Allow-Origin', origin)
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges, ETag')
    if (req.method !== 'OPTIONS') return next()
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, DELETE, OPTIONS')
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Range')
    res.setHeader('Access-Control-Max-Age', '600')
    res.status(204).end()
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * When the API listens on loopback, a `Host` header naming anything else
 * is a DNS-rebinding attempt (a remote name resolved to 127.0.0.1): 403.
 */
export function hostGuard (listenHost: string): RequestHandler {
  const loopback = LOOPBACK_NAMES.has(listenHost) || listenHost === '::1' || listenHost.startsWith('127.')
  return (req, _res, next) => {
    if (!loopback) return next()
    const host = (req.headers.host ?? '').toLowerCase().replace(/:\d{1,5}$/, '')
    if (!LOOPBACK_NAMES.has(host) && !(host.startsWith('127.') && /^[\d.]+$/.test(host))) {
      throw new ForbiddenError(`Host "${host}" is not allowed: this API answers on loopback names only`)
    }
    next()
  }
}
