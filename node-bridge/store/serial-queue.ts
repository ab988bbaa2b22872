/**
 * Runs tasks one after another, in the order they were given. A failed task
 * rejects its own promise and does not stop the ones after it.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve()

  run<T> (task: () => Promise<T>): Promise<T> {
    // `then` always defers: the task never starts in the caller's tick
    const result = this.tail.then(task)
    this.tail = result.catch(() => {})
    return result
  }

  /** Resolves once every task given so far has settled. */
  async idle (): Promise<void> {
    let seen: Promise<unknown>
    do {
      seen = this.tail
      await seen
    } while (seen !== this.tail)
  }
}
