import { describe, expect, it } from 'vitest'
import { LibraryBudget, libraryBytes } from '../../relay/http/library-budget'
import { addressKey, UploadQuota, type UploadQuotaLimits } from '../../relay/http/upload-quota'
import type { CatalogueEntry } from '../../relay/library/index'

const HOUR = 3_600_000
const LIMITS: UploadQuotaLimits = { concurrent: 2, perHour: 3, bytesPerHour: 1000, bytesPerDay: 2500 }

/** A quota on a clock the test moves. */
function quotaAt (limits = LIMITS): { quota: UploadQuota, clock: { t: number } } {
  const clock = { t: 1_000_000_000 }
  return { quota: new UploadQuota(limits, () => clock.t), clock }
}

/** An upload of `declared` bytes, sent whole: 'ok', or the refusal's status and Retry-After. */
function attempt (quota: UploadQuota, address: string, declared: number): string {
  try {
    const ticket = quota.begin(address, declared)
    ticket.received(declared)
    ticket.end()
    return 'ok'
  } catch (err: any) {
    return `${err.status as number}${err.retryAfterSeconds != null ? ` retry ${err.retryAfterSeconds as number}` : ''}`
  }
}

describe('UploadQuota', () => {
  it('uploads at once: the third from one address waits (429, retry 10 s), another address does not; a slot frees at end', () => {
    const { quota } = quotaAt({ ...LIMITS, perHour: 100 })
    const a = quota.begin('1.2.3.4', 10)
    const b = quota.begin('1.2.3.4', 10)
    expect(attempt(quota, '1.2.3.4', 10)).toBe('429 retry 10')
    expect(attempt(quota, '5.6.7.8', 10)).toBe('ok')
    a.end()
    a.end() // twice is once
    expect(attempt(quota, '1.2.3.4', 10)).toBe('ok')
    b.end()
  })

  it.each([
    // [declared bytes of each upload in order, one minute apart, what the last one gets]
    ['three an hour, the fourth waits until the first is an hour old', [1, 1, 1, 1], `429 retry ${HOUR / 1000 - 180}`],
    ['bytes per hour, declared up front', [600, 500], `429 retry ${HOUR / 1000 - 60}`],
    ['exactly the hourly bytes', [600, 400], 'ok'],
    ['more than an hour allows at all: 413', [1001], '413'],
    ['more than a day allows at all: 413 (hour raised)', [2501], '413']
  ] as const)('%s', (_name, sizes, expected) => {
    const limits = sizes[0] === 2501 ? { ...LIMITS, bytesPerHour: 10_000 } : LIMITS
    const { quota, clock } = quotaAt(limits)
    const outcomes = sizes.map(size => { clock.t += 60_000; return attempt(quota, '1.2.3.4', size) })
    expect(outcomes.slice(0, -1).every(o => o === 'ok')).toBe(true)
    expect(outcomes.at(-1)).toBe(expected)
  })

  it('bytes per day: hours apart, the day still fills; the window slides', () => {
    const { quota, clock } = quotaAt({ ...LIMITS, perHour: 100 })
    for (let i = 0; i < 2; i++) {
      expect(attempt(quota, '1.2.3.4', 1000)).toBe('ok')
      clock.t += 2 * HOUR
    }
    expect(attempt(quota, '1.2.3.4', 600)).toBe(`429 retry ${(24 - 4) * 3600}`)
    expect(attempt(quota, '1.2.3.4', 500)).toBe('ok')
    clock.t += 20 * HOUR + 1
    expect(attempt(quota, '1.2.3.4', 1000)).toBe('ok')
  })

  it('bytes past the declared length are charged as they come: the one that passes the hour throws 429', () => {
    const { quota } = quotaAt()
    const ticket = quota.begin('1.2.3.4', 0)
    ticket.received(400)
    ticket.received(1000)
    expect(() => { ticket.received(1001) }).toThrow(expect.objectContaining({ name: 'TooManyRequestsError', status: 429 }))
    ticket.end()
  })

  it('what was declared and never sent is given back at the end', () => {
    const { quota } = quotaAt()
    const ticket = quota.begin('1.2.3.4', 900)
    expect(attempt(quota, '1.2.3.4', 200)).toBe(`429 retry ${HOUR / 1000}`) // 900 held while it runs
    ticket.received(100)
    ticket.end()
    expect(attempt(quota, '1.2.3.4', 900)).toBe('ok')
  })

  it('forgets an address a day after its last upload', () => {
    const { quota, clock } = quotaAt()
    quota.begin('1.2.3.4', 10).end()
    quota.begin('9.9.9.9', 10).end()
    expect(quota.size).toBe(2)
    clock.t += 24 * HOUR + 60_001
    quota.begin('5.6.7.8', 10).end()
    expect(quota.size).toBe(1)
  })
})

describe('addressKey', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:10.0.0.7', '10.0.0.7'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::ffff', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    [undefined, 'unknown']
  ])('%s → %s', (remote, key) => {
    expect(addressKey(remote)).toBe(key)
  })
})

describe('LibraryBudget', () => {
  function budget (used: number, free = 10 ** 12): LibraryBudget {
    return new LibraryBudget({ maxBytes: 1000, minFreeBytes: 100, used: () => used, free: async () => free, dir: '.' })
  }

  it('reserves the declared length; what does not fit with the others reserved is a 507', async () => {
    const b = budget(300)
    const one = await b.reserve(500)
    await expect(b.reserve(201)).rejects.toMatchObject({ name: 'InsufficientStorageError', status: 507 })
    const two = await b.reserve(200)
    expect(b.pending).toBe(700)
    one.release()
    one.release()
    two.release()
    expect(b.pending).toBe(0)
  })

  it('grows a reservation as bytes come past the declared length, and refuses the byte that does not fit', async () => {
    const b = budget(300)
    const r = await b.reserve(0)
    r.received(700)
    expect(() => { r.received(701) }).toThrow(expect.objectContaining({ status: 507 }))
    r.release()
    expect(b.pending).toBe(0)
  })

  it('keeps room free on the disk whatever the budget says', async () => {
    await expect(budget(0, 150).reserve(51)).rejects.toMatchObject({ status: 507, message: expect.stringContaining('disk is nearly full') })
    await expect(budget(0, 150).reserve(50)).resolves.toBeDefined()
  })

  it('counts each file holding a video', () => {
    const entry = (size: number, alsoNamed?: string[]): CatalogueEntry => ({ size, alsoNamed } as unknown as CatalogueEntry)
    expect(libraryBytes([entry(100), entry(50, ['b.mp4', 'c.mp4'])])).toBe(250)
  })
})
