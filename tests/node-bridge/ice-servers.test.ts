import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RelayIceServers } from '@core/ice/ice-servers'
import { forLibdatachannel } from '../../node-bridge/node'
import { RelayHttp } from '../../node-bridge/relay-http'
import { startBridge, type TestBridge } from '../helpers/bridge'
import { startRelay, type TestRelay } from '../helpers/relay'
import { opensslTurnCredential, usernameExpiry } from '../helpers/turn'

const SECRET = 'north-wind-7d1c2b9e4f0a'
// documentation addresses (RFC 5737): nothing here is ever contacted
const OWN = [{ urls: 'stun:198.51.100.7:3478' }]
const STUN = ['stun:198.51.100.10:3478']
const TURN = ['turn:198.51.100.10:3478?transport=udp']

describe('the bridge\'s ICE servers: its own, then the relay\'s', () => {
  let relay: TestRelay
  let plainRelay: TestRelay
  const bridges: TestBridge[] = []

  beforeAll(async () => {
    relay = await startRelay([], { stun: STUN, turn: TURN, turnSecret: SECRET, turnTtlSeconds: 3600 })
    plainRelay = await startRelay([])
  })
  afterAll(async () => {
    await Promise.allSettled(bridges.map(async b => { await b.close() }))
    await Promise.allSettled([relay?.close(), plainRelay?.close()])
  })

  it('--ice-servers first, then the relay\'s STUN and TURN, with a credential that verifies against the relay\'s secret', async () => {
    // the bridge asks the relay as it starts
    const before = Math.floor(Date.now() / 1000)
    const b = await startBridge(relay, { iceServers: OWN })
    bridges.push(b)
    const { iceServers } = await b.bridge.ice.rtcConfiguration()
    expect(iceServers).toHaveLength(3)
    expect(iceServers![0]).toEqual(OWN[0])
    expect(iceServers![1]).toEqual({ urls: STUN })
    const turn = iceServers![2]!
    expect(turn.urls).toEqual(TURN)
    expect(usernameExpiry(turn.username!)).toBeGreaterThanOrEqual(before + 3600)
    expect(turn.credential).toBe(await opensslTurnCredential(SECRET, turn.username!))
  })

  it('asked again once half the TTL has gone (the peer\'s clock): a new credential from the relay, verifying too', async () => {
    const clock = { t: Date.now() }
    const relayHttp = new RelayHttp(relay.relay.httpUrl())
    let asked = 0
    const ice = new RelayIceServers({ fetch: async opts => { asked++; return await relayHttp.ice(opts) }, now: () => clock.t })
    const first = (await ice.rtcConfiguration()).iceServers![1]!
    clock.t += 1800_000 - 1
    expect((await ice.rtcConfiguration()).iceServers![1]).toEqual(first)
    clock.t += 1
    const second = (await ice.rtcConfiguration()).iceServers![1]!
    expect(asked).toBe(2)
    expect(second.username).not.toBe(first.username)
    expect(second.credential).toBe(await opensslTurnCredential(SECRET, second.username!))
  })

  it('a relay with none: the bridge\'s own alone', async () => {
    const b = await startBridge(plainRelay, { iceServers: OWN })
    bridges.push(b)
    expect(await b.bridge.ice.rtcConfiguration()).toEqual({ iceServers: OWN })
  })
})

describe('ICE servers as node-datachannel hands them to libdatachannel', () => {
  it('username and credential percent-encoded: libdatachannel reads turn:<user>:<password>@host and splits at the first ":"', () => {
    const server = { urls: ['turn:198.51.100.10:3478?transport=udp'], username: '1765062000:Zm9v', credential: 'a/b+c==' }
    const [encoded] = forLibdatachannel([server])
    expect(encoded).toEqual({ urls: server.urls, username: '1765062000%3AZm9v', credential: 'a%2Fb%2Bc%3D%3D' })
    expect(decodeURIComponent(encoded!.username!)).toBe(server.username)
    expect(encoded!.username).not.toMatch(/[:@]/)
    expect(encoded!.credential).not.toMatch(/[:@/]/)
  })

  it('servers without credentials pass as they are', () => {
    expect(forLibdatachannel([{ urls: 'stun:198.51.100.10:3478' }])).toEqual([{ urls: 'stun:198.51.100.10:3478' }])
  })
})
