import type { Reply } from './envelope'

/**
 * Requests of one connection run concurrently; their replies leave in
 * request order. `pending` counts replies not yet written.
 */
export class OrderedReplies {
  pending = 0
  private tail: Promise<void> = Promise.resolve()

  constructor (private readonly write: (reply: Reply) => Promise<void>, private readonly onSettled: () => void) {}

  push (reply: Promise<Reply>): void {
    this.pending++
    this.tail = this.tail
      .then(async () => { await this.write(await reply) })
      .catch(() => {}) // the connection is gone: nothing left to write to
      .finally(() => { this.pending--; this.onSettled() })
  }

  /** Resolves once every reply so far is written (or the connection failed). */
  async drained (): Promise<void> {
    await this.tail
  }
}
