import { PayloadTooLargeError, TooManyRequestsError } from './errors'

export interface UploadQuotaLimits {
  /** Uploads one address may have under way at once. */
  concurrent: number
  /** Uploads one address may start in an hour (what got past the other checks). */
  perHour: number
  /** Bytes one address may send in an hour. */
  bytesPerHour: number
  /** Bytes one address may send in a day. */
  bytesPerDay: number
}

/** The defaults (relay/config.ts's flags start from these). */
export const UPLOAD_QUOTA_DEFAULTS: UploadQuotaLimits = {
  concurrent: 2,
  perHour: 30,
  bytesPerHour: 4 * 1024 ** 3,
  bytesPerDay: 16 * 1024 ** 3
}

const HOUR = 60 * 60_000
const DAY = 24 * HOUR
/** What a 429 for "too many at once" tells the client to wait: a guess, since nobody knows when an upload ends. */
export const BUSY_RETRY_AFTER_SECONDS = 10

/** One upload's place in its address's accounts. */
export interface UploadTicket {
  /**
   * `total` bytes of the body received so far. Throws TooManyRequestsError
   * once they take the address past a byte quota.
   */
  received(total: number): void
  /** The upload is over, whatever the outcome: its slot frees, bytes declared but never sent are given back. */
  end(): void
}

interface Charge { at: number, bytes: number }
interface AddressAccount { active: number, charges: Charge[] }

/**
 * Per-address quotas for `POST /upload`: uploads under way at once, uploads
 * started per hour, bytes per hour and per day (sliding windows). An upload
 * is charged its declared length (Content-Length) when it starts, so that
 * uploads starting together cannot each fit alone and overrun together;
 * bytes past the declared length are charged as they arrive, and what was
 * declared but never sent is given back at the end.
 *
 * Pure but for the clock: no I/O, no timers (old charges are dropped as
 * uploads come).
 */
export class UploadQuota {
  private readonly accounts = new Map<string, AddressAccount>()
  private lastSweep = 0

  constructor (readonly limits: UploadQuotaLimits, private readonly now: () => number = Date.now) {}

  /**
   * Let an upload of `declared` bytes (0 when unknown) from `address` start.
   * Throws TooManyRequestsError (with when to retry) past a quota,
   * PayloadTooLargeError when `declared` alone exceeds a byte quota.
   */
  begin (address: string, declared: number): UploadTicket {
    const now = this.now()
    this.sweep(now)
    const account = this.accounts.get(address) ?? { active: 0, charges: [] }
    drop(account, now)
    const { limits } = this
    if (account.active >= limits.concurrent) {
      throw new TooManyRequestsError(`This address already has ${account.active} uploads under way (at most ${limits.concurrent} at once)`, BUSY_RETRY_AFTER_SECONDS)
    }
    const lastHour = account.charges.filter(c => c.at > now - HOUR)
    if (lastHour.length >= limits.perHour) {
      throw new TooManyRequestsError(`This address has started ${lastHour.length} uploads in the last hour (at most ${limits.perHour})`,
        (lastHour[0]!.at + HOUR - now) / 1000)
    }
    for (const [, limit, label] of this.byteWindows()) {
      if (declared > limit) throw new PayloadTooLargeError(`The upload is larger than the ${limit} bytes one address may send in ${label}`)
    }
    this.checkBytes(account, now, declared)

    const charge: Charge = { at: now, bytes: declared }
    account.charges.push(charge)
    account.active++
    this.accounts.set(address, account)
    let sent = 0
    let ended = false
    return {
      received: (total: number): void => {
        sent = total
        if (total <= charge.bytes) return
        charge.bytes = total
        this.checkBytes(account, this.now(), 0)
      },
      end: (): void => {
        if (ended) return
        ended = true
        account.active--
        charge.bytes = sent // what was declared and never came costs nothing
      }
    }
  }

  private byteWindows (): Array<readonly [window: number, limit: number, label: string]> {
    return [[HOUR, this.limits.bytesPerHour, 'an hour'], [DAY, this.limits.bytesPerDay, 'a day']]
  }

  /** Throws TooManyRequestsError when the account's charges plus `extra` pass a byte quota. */
  private checkBytes (account: AddressAccount, now: number, extra: number): void {
    for (const [window, limit, label] of this.byteWindows()) {
      const wait = waitFor(account.charges, now, window, limit, extra)
      if (wait > 0) throw new TooManyRequestsError(`This address has sent too much in ${label} (at most ${limit} bytes)`, wait / 1000)
    }
  }

  /** Addresses with an account (tests; memory bound). */
  get size (): number {
    return this.accounts.size
  }

  /** Forget addresses with nothing under way and nothing charged in the last day; at most once a minute. */
  private sweep (now: number): void {
    if (now - this.lastSweep < 60_000) return
    this.lastSweep = now
    for (const [address, account] of this.accounts) {
      drop(account, now)
      if (account.active === 0 && account.charges.length === 0) this.accounts.delete(address)
    }
  }
}

/** Drop charges older than the longest window. */
function drop (account: AddressAccount, now: number): void {
  const keep = account.charges.findIndex(c => c.at > now - DAY)
  if (keep === -1) account.charges.length = 0
  else if (keep > 0) account.charges.splice(0, keep)
}

/**
 * Milliseconds until `extra` more bytes fit under `limit` in the `window`
 * ending now (0: they fit now). Charges are in time order.
 */
function waitFor (charges: readonly Charge[], now: number, window: number, limit: number, extra: number): number {
  const inWindow = charges.filter(c => c.at > now - window)
  let excess = inWindow.reduce((sum, c) => sum + c.bytes, 0) + extra - limit
  if (excess <= 0) return 0
  for (const c of inWindow) {
    excess -= c.bytes
    if (excess <= 0) return Math.max(1, c.at + window - now)
  }
  return window
}

/**
 * The account an address is charged to: an IPv4 address, or an IPv6 /64
 * (what one subscriber usually gets: counting single IPv6 addresses would
 * give each of them 2⁶⁴ quotas). IPv4-mapped IPv6 is IPv4.
 */
export function addressKey (remote: string | undefined): string {
  if (remote == null || remote === '') return 'unknown'
  const address = remote.replace(/%.*$/, '')
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  if (mapped != null) return mapped[1]!
  if (!address.includes(':')) return address
  const [head = '', tail] = address.toLowerCase().split('::')
  const front = head === '' ? [] : head.split(':')
  const back = tail == null || tail === '' ? [] : tail.split(':')
  const groups = tail == null ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back]
  return `${groups.slice(0, 4).map(g => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}
