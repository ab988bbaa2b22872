export interface AbortOptions {
  signal?: AbortSignal
}

/**
 * The signal to use for an operation: the caller's, bounded by a default
 * timeout when the caller gave none.
 */
export function signalWithTimeout (options: AbortOptions | undefined, defaultTimeoutMs: number): AbortSignal {
  return options?.signal ?? AbortSignal.timeout(defaultTimeoutMs)
}

/** Combine signals (any aborts → aborted), tolerating undefined entries. */
export function anySignal (...signals: Array<AbortSignal | undefined>): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s != null))
}

/** Resolve after `ms`, or reject with the signal's reason when it aborts first. */
export async function delay (ms: number, options?: AbortOptions): Promise<void> {
  const signal = options?.signal
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
