import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRelay, type TestRelay } from '../helpers/relay'
import { opensslTurnCredential, usernameExpiry } from '../helpers/turn'

const SECRET = 'north-wind-7d1c2b9e4f0a'
// documentation addresses (RFC 5737, RFC 2606): nothing here is ever contacted
const STUN = ['stun:198.51.100.10:3478', 'stun:turn.example.org:3478']
const TURN = ['turn:198.51.100.10:3478?transport=udp', 'turns:turn.example.org:5349?transport=tcp']

async function info (relay: TestRelay): Promise<{ res: Response, body: any, text: string }> {
  const res = await fetch(`${relay.relay.httpUrl()}/info`)
  const text = await res.text()
  return { res, body: JSON.parse(text), text }
}

describe('GET /info: the relay\'s ICE servers', () => {
  let plain: TestRelay
  let configured: TestRelay

  beforeAll(async () => {
    plain = await startRelay([])
    configured = await startRelay([], { stun: STUN, turn: TURN, turnSecret: SECRET, turnTtlSeconds: 900 })
  })
  afterAll(async () => { await Promise.all([plain?.close(), configured?.close()]) })

  it('none configured: an empty list, nothing expires; the peer id and addresses as before', async () => {
    const { res, body } = await info(plain)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(body).toEqual({
      peerId: plain.relay.node.peerId.toString(),
      multiaddrs: plain.relay.multiaddrs().map(String),
      iceServers: [],
      iceServersTtl: null,
      iceServersExpireAt: null
    })
  })

  it('configured: the STUN servers, the TURN servers with a credential that verifies against the secret, expiring in the TTL; no-store; no secret', async () => {
    const before = Math.floor(Date.now() / 1000)
    const { res, body, text } = await info(configured)
    const after = Math.floor(Date.now() / 1000)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(text).not.toContain(SECRET)
    expect(body.iceServers).toHaveLength(2)
    expect(body.iceServers[0]).toEqual({ urls: STUN })
    const turn = body.iceServers[1]
    expect(Object.keys(turn).sort()).toEqual(['credential', 'urls', 'username'])
    expect(turn.urls).toEqual(TURN)
    const expiry = usernameExpiry(turn.username)
    expect(expiry).toBeGreaterThanOrEqual(before + 900)
    expect(expiry).toBeLessThanOrEqual(after + 900)
    expect(turn.credential).toBe(await opensslTurnCredential(SECRET, turn.username))
    expect(await opensslTurnCredential('another-secret-of-16', turn.username)).not.toBe(turn.credential)
    expect(body.iceServersTtl).toBe(900)
    expect(Date.parse(body.iceServersExpireAt)).toBe(expiry * 1000)
  })

  it('every answer has credentials of its own', async () => {
    const [a, b] = await Promise.all([info(configured), info(configured)])
    expect(a.body.iceServers[1].username).not.toBe(b.body.iceServers[1].username)
    expect(b.body.iceServers[1].credential).toBe(await opensslTurnCredential(SECRET, b.body.iceServers[1].username))
  })
})
