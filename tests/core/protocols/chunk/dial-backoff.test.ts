import { describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, DialBackoff, keyOf } from '@core/protocols/chunk/dial-backoff'

const PEER_A = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
const PEER_B = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'

describe('DialBackoff', () => {
  it('keys an address by what is dialled, whoever is claimed to be there; a circuit address by its relay', () => {
    expect(keyOf(multiaddr(`/ip4/192.0.2.1/tcp/80/p2p/${PEER_A}`))).toBe('/ip4/192.0.2.1/tcp/80')
    expect(keyOf(multiaddr(`/ip4/192.0.2.1/tcp/80/p2p/${PEER_B}`))).toBe('/ip4/192.0.2.1/tcp/80')
    expect(keyOf(multiaddr(`/ip4/192.0.2.9/tcp/10002/ws/p2p/${PEER_A}/p2p-circuit/webrtc/p2p/${PEER_B}`))).toBe('/ip4/192.0.2.9/tcp/10002/ws')
  })

  it('lets one dial of an address at a time, whatever peer id it is dialled for, and backs off doubling up to the cap after each failure', () => {
    let t = 0
    const b = new DialBackoff(() => t)
    const forA = multiaddr(`/ip4/192.0.2.1/tcp/80/p2p/${PEER_A}`)
    const forB = multiaddr(`/ip4/192.0.2.1/tcp/80/p2p/${PEER_B}`)
    expect(b.ready(forA)).toBe(true)
    b.dialing(forA)
    expect(b.ready(forB)).toBe(false)
    const waits: number[] = []
    for (let n = 0; n < 8; n++) {
      b.failed(forA)
      const from = t
      while (!b.ready(forB)) t += 100
      waits.push(t - from)
      b.dialing(forB)
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128].map(k => Math.min(BACKOFF_MAX_MS, k * BACKOFF_BASE_MS)))
    // a success forgets the failures; an aborted dial says nothing
    b.succeeded(forB)
    expect(b.ready(forA)).toBe(true)
    b.dialing(forA)
    b.released(forA)
    expect(b.ready(forA)).toBe(true)
    expect(b.size).toBe(0)
  })

  it('remembers a bounded number of addresses, the least recently used forgotten first', () => {
    const b = new DialBackoff(() => 0, 3)
    const addr = (k: number) => multiaddr(`/ip4/192.0.2.${k}/tcp/80`)
    for (let k = 1; k <= 5; k++) b.failed(addr(k))
    expect(b.size).toBe(3)
    expect([1, 2, 3, 4, 5].map(k => b.ready(addr(k)))).toEqual([true, true, false, false, false])
  })
})
