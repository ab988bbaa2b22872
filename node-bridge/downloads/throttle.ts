interface Slot {
  last: number
  pending?: () => void
  timer?: ReturnType<typeof setTimeout>
}

/**
 * At most one call per `intervalMs` for each key; a call that comes too
 * soon is not lost but delayed: the latest one for its key runs when the
 * interval ends (so a download that pauses still shows where it stopped).
 * A final call (the last chunk) runs at once and drops what was pending.
 */
export class Throttle {
  private readonly slots = new Map<string, Slot>()

  constructor (private readonly intervalMs: number, private readonly now: () => number = Date.now) {}

  run (key: string, fn: () => void, final = false): void {
    const t = this.now()
    const slot = this.slots.get(key) ?? { last: -Infinity }
    this.slots.set(key, slot)
    if (final || t - slot.last >= this.intervalMs) {
      this.clear(slot)
      slot.last = t
      fn()
      return
    }
    slot.pending = fn
    slot.timer ??= setTimeout(() => {
      slot.timer = undefined
      const pending = slot.pending
      slot.pending = undefined
      slot.last = this.now()
      pending?.()
    }, this.intervalMs - (t - slot.last))
  }

  /** Forget a key: its next call runs at once, a pending one never. */
  forget (key: string): void {
    const slot = this.slots.get(key)
    if (slot != null) this.clear(slot)
    this.slots.delete(key)
  }

  /** Drop everything pending (the listener goes away). */
  close (): void {
    for (const slot of this.slots.values()) this.clear(slot)
    this.slots.clear()
  }

  private clear (slot: Slot): void {
    clearTimeout(slot.timer)
    slot.timer = undefined
    slot.pending = undefined
  }
}
