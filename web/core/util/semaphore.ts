import type { AbortOptions } from './abort'

/** Counts permits; `acquire()` waits (FIFO) until one is free. */
export class Semaphore {
  private active = 0
  private readonly waiters: Array<{ resolve(): void, reject(err: unknown): void }> = []

  constructor (private readonly permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError('A semaphore needs at least one permit')
  }

  get inUse (): number {
    return this.active
  }

  get waiting (): number {
    return this.waiters.length
  }

  async acquire (options?: AbortOptions): Promise<() => void> {
    options?.signal?.throwIfAborted()
    if (this.active < this.permits) {
      this.active++
      return this.releaser()
    }
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          options?.signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject
      }
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter)
        if (at >= 0) this.waiters.splice(at, 1)
        reject(options?.signal?.reason)
      }
      options?.signal?.addEventListener('abort', onAbort, { once: true })
      this.waiters.push(waiter)
    })
    // the permit was handed over by release(): active already counts it
    return this.releaser()
  }

  private releaser (): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiters.shift()
      if (next != null) next.resolve()
      else this.active--
    }
  }
}
