import { describe, expect, it } from 'vitest'
import { iceServersInfo, turnCredential, turnUsername } from '../../relay/ice-servers'
import { opensslTurnCredential, usernameExpiry } from '../helpers/turn'

const SECRET = 'north-wind-7d1c2b9e4f0a'
const NOW = Date.UTC(2026, 11, 6, 23, 0, 0, 250)

describe('TURN REST API credentials (coturn use-auth-secret)', () => {
  it('the credential is HMAC-SHA1 of the username, base64: RFC 2202 test case 2', () => {
    // key "Jefe", data "what do ya want for nothing?" → effcdf6ae5eb2fa2d27416d5f184df9c259a7c79
    expect(turnCredential('Jefe', 'what do ya want for nothing?')).toBe(Buffer.from('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79', 'hex').toString('base64'))
  })

  it.each([
    ['1765062000:alice', SECRET],
    ['1765062000:Zm9vYmFyYmF6', 'a secret with spaces and ünïcödé'],
    ['4102444800:x', 'x'.repeat(100)]
  ])('matches openssl dgst -sha1 -hmac for %s', async (username, secret) => {
    expect(turnCredential(secret, username)).toBe(await opensslTurnCredential(secret, username))
  })

  it('the username is "<unix expiry seconds>:<id>"', () => {
    expect(turnUsername(1765062000, 'abc')).toBe('1765062000:abc')
  })
})

describe('the ICE servers of one /info answer', () => {
  const config = { stun: ['stun:turn.example.org:3478'], turn: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'], turnSecret: SECRET, turnTtlSeconds: 3600 }

  it('none configured: an empty list that never expires', () => {
    expect(iceServersInfo({ stun: [], turn: [], turnTtlSeconds: 3600 }, NOW)).toEqual({ iceServers: [], iceServersTtl: null, iceServersExpireAt: null })
  })

  it('STUN only: the URLs as given, no credential, nothing expires', () => {
    expect(iceServersInfo({ ...config, turn: [], turnSecret: undefined }, NOW))
      .toEqual({ iceServers: [{ urls: ['stun:turn.example.org:3478'] }], iceServersTtl: null, iceServersExpireAt: null })
  })

  it('TURN: a username expiring TTL seconds from now, its credential verifying against the secret, never the secret', async () => {
    const info = iceServersInfo(config, NOW, 'id1')
    expect(info.iceServers[0]).toEqual({ urls: ['stun:turn.example.org:3478'] })
    const turn = info.iceServers[1]!
    expect(turn.urls).toEqual(config.turn)
    expect(turn.username).toBe(`${Math.floor(NOW / 1000) + 3600}:id1`)
    expect(usernameExpiry(turn.username!)).toBe(Math.floor(NOW / 1000) + 3600)
    expect(turn.credential).toBe(await opensslTurnCredential(SECRET, turn.username!))
    expect(info.iceServersTtl).toBe(3600)
    expect(info.iceServersExpireAt).toBe(new Date((Math.floor(NOW / 1000) + 3600) * 1000).toISOString())
    expect(JSON.stringify(info)).not.toContain(SECRET)
  })

  it('the TTL sets the expiry: 60 s and a week', () => {
    for (const ttl of [60, 7 * 86_400]) {
      const { iceServers } = iceServersInfo({ ...config, turnTtlSeconds: ttl }, NOW)
      expect(usernameExpiry(iceServers[1]!.username!) - Math.floor(NOW / 1000)).toBe(ttl)
    }
  })

  it('a fresh username (and credential) for every answer, even in the same second', () => {
    const [a, b] = [iceServersInfo(config, NOW), iceServersInfo(config, NOW)]
    expect(a.iceServers[1]!.username).not.toBe(b.iceServers[1]!.username)
    expect(a.iceServers[1]!.credential).not.toBe(b.iceServers[1]!.credential)
  })

  it('TURN without the secret is a bug the configuration prevents: it throws rather than send servers nobody can use', () => {
    expect(() => iceServersInfo({ ...config, turnSecret: undefined }, NOW)).toThrow(/without their shared secret/)
  })
})
