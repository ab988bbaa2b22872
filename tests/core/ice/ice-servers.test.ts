import { describe, expect, it } from 'vitest'
import { ICE_REFRESH_WITHOUT_TTL_MS, iceExpiresAt, iceRefreshAt, RelayIceServers, type RelayIce } from '@core/ice/index'

const STUN: RTCIceServer = { urls: ['stun:198.51.100.10:3478'] }
const turn = (n: number): RTCIceServer => ({ urls: ['turn:198.51.100.10:3478'], username: `${n}:x`, credential: `c${n}` })

describe('when to ask the relay again', () => {
  it.each([
    // fetchedAt, ttl (s), refresh at, expires at
    [1_000, 3600, 1_000 + 1_800_000, 1_000 + 3_600_000],
    [0, 60, 30_000, 60_000],
    [5_000, null, 5_000 + ICE_REFRESH_WITHOUT_TTL_MS, Infinity]
  ])('fetched at %d with a TTL of %s s: again at %d, expired at %d', (at, ttl, refresh, expires) => {
    expect(iceRefreshAt(at, ttl)).toBe(refresh)
    expect(iceExpiresAt(at, ttl)).toBe(expires)
  })
})

describe('RelayIceServers', () => {
  /** A relay whose answers are scripted, and a clock the test moves. */
  function rig (answers: Array<RelayIce | Error>, own?: RTCIceServer[]): { ice: RelayIceServers, asked: () => number, clock: { t: number } } {
    const clock = { t: 1_000_000 }
    let asked = 0
    const ice = new RelayIceServers({
      own,
      now: () => clock.t,
      fetch: async () => {
        const answer = answers[Math.min(asked++, answers.length - 1)]!
        if (answer instanceof Error) throw answer
        return answer
      }
    })
    return { ice, asked: () => asked, clock }
  }

  it('asks the relay for the first connection, then not again until half the TTL is gone', async () => {
    const { ice, asked, clock } = rig([{ iceServers: [STUN, turn(1)], iceServersTtl: 600 }, { iceServers: [STUN, turn(2)], iceServersTtl: 600 }])
    expect(await ice.rtcConfiguration()).toEqual({ iceServers: [STUN, turn(1)] })
    clock.t += 299_999
    expect(await ice.rtcConfiguration()).toEqual({ iceServers: [STUN, turn(1)] })
    expect(asked()).toBe(1)
    clock.t += 1
    expect(await ice.rtcConfiguration()).toEqual({ iceServers: [STUN, turn(2)] })
    expect(asked()).toBe(2)
  })

  it('own servers first, then the relay\'s; a fresh object each time (libp2p keeps and fills the one it gets)', async () => {
    const own = [{ urls: 'stun:198.51.100.1:3478' }]
    const { ice } = rig([{ iceServers: [turn(1)], iceServersTtl: 600 }], own)
    const a = await ice.rtcConfiguration()
    expect(a).toEqual({ iceServers: [...own, turn(1)] })
    a.iceServers![1]!.username = 'changed';
    (a.iceServers![1]!.urls as string[]).push('turn:changed')
    expect(await ice.rtcConfiguration()).toEqual({ iceServers: [...own, turn(1)] })
  })

  it('one ask for connections made at once', async () => {
    const { ice, asked } = rig([{ iceServers: [turn(1)], iceServersTtl: 600 }])
    await Promise.all([ice.rtcConfiguration(), ice.rtcConfiguration(), ice.rtcConfiguration()])
    expect(asked()).toBe(1)
  })

  it('a relay that does not answer: the last servers stay until their credentials expire, then STUN only; asked again 30 s after each failure', async () => {
    const down = new Error('down')
    const { ice, asked, clock } = rig([{ iceServers: [STUN, turn(1)], iceServersTtl: 600 }, down, down, down, { iceServers: [STUN, turn(5)], iceServersTtl: 600 }])
    await ice.rtcConfiguration()
    clock.t += 300_000
    expect(await ice.rtcConfiguration()).toEqual({ iceServers: [STUN, turn(1)] })
    expect(asked()).toBe(2)
    clock.t += 29_999
    await ice.rtcConfiguration()
    expect(asked()).toBe(2)
    clock.t += 1
    expect(await ice.rtcConfiguration()).toEqual({ iceServers: [STUN, turn(1)] })
    expect(asked()).toBe(3)
    clock.t += 270_000 // 600 s after the first answer: its credential has expired
    expect(await ice.rtcConfiguration()).toEqual({ iceServers: [STUN] })
    expect(asked()).toBe(4)
    clock.t += 30_000
    expect(await ice.rtcConfiguration()).toEqual({ iceServers: [STUN, turn(5)] })
    expect(asked()).toBe(5)
  })

  it('no TTL (no TURN): asked again after an hour', async () => {
    const { ice, asked, clock } = rig([{ iceServers: [STUN], iceServersTtl: null }, { iceServers: [], iceServersTtl: null }])
    await ice.rtcConfiguration()
    clock.t += ICE_REFRESH_WITHOUT_TTL_MS - 1
    expect(await ice.rtcConfiguration()).toEqual({ iceServers: [STUN] })
    clock.t += 1
    expect(await ice.rtcConfiguration()).toEqual({ iceServers: [] })
    expect(asked()).toBe(2)
  })

  it('no relay answer at all: the own servers alone, never an empty-handed undefined (libp2p would use public STUN)', async () => {
    const { ice } = rig([new Error('down')])
    expect(await ice.rtcConfiguration()).toEqual({ iceServers: [] })
  })
})
