import { createHmac, randomBytes } from 'node:crypto'
import type { RelayIce } from '@core/ice/info'

export interface IceServersConfig {
  /** `stun:` / `stuns:` URLs. */
  stun: string[]
  /** `turn:` / `turns:` URLs, all of one TURN service sharing `turnSecret`. */
  turn: string[]
  /** coturn's `static-auth-secret`: required when `turn` is not empty; never sent. */
  turnSecret?: string
  /** Seconds the credentials handed out live. */
  turnTtlSeconds: number
}

/** What `/info` adds to the relay's peer id and addresses. */
export interface IceServersInfo extends RelayIce {
  /** When the TURN credentials expire, by the relay's clock (ISO 8601); null without TURN. */
  iceServersExpireAt: string | null
}

/**
 * The TURN REST API's username (draft-uberti-behave-turn-rest, coturn's
 * `use-auth-secret`): the expiry in unix seconds, `:`, an id of ours. coturn
 * refuses the credential once that time has passed.
 */
export function turnUsername (expiresAtSeconds: number, id: string): string {
  return `${expiresAtSeconds}:${id}`
}

/** The password coturn expects for `username`: base64(HMAC-SHA1(secret, username)). */
export function turnCredential (secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64')
}

/**
 * The ICE servers for one answer of `/info`: the STUN servers as they are,
 * the TURN servers with a credential made now (a fresh username each time,
 * expiring `turnTtlSeconds` from `now`). Empty without configuration.
 */
export function iceServersInfo (config: IceServersConfig, now: number = Date.now(), id: string = randomBytes(9).toString('base64url')): IceServersInfo {
  const iceServers: RTCIceServer[] = []
  if (config.stun.length > 0) iceServers.push({ urls: [...config.stun] })
  if (config.turn.length === 0) return { iceServers, iceServersTtl: null, iceServersExpireAt: null }
  if (config.turnSecret == null) throw new Error('TURN servers are configured without their shared secret')
  const expiresAt = Math.floor(now / 1000) + config.turnTtlSeconds
  const username = turnUsername(expiresAt, id)
  iceServers.push({ urls: [...config.turn], username, credential: turnCredential(config.turnSecret, username) })
  return { iceServers, iceServersTtl: config.turnTtlSeconds, iceServersExpireAt: new Date(expiresAt * 1000).toISOString() }
}
