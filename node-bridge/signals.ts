/** How long a stop may take before the process exits anyway. */
const FORCE_EXIT_MS = 5000

export interface SignalledDaemon {
  stop(): Promise<void>
  /** The console's lines: the stop begins, and the stop took too long. */
  stopping(signal: string): string
  forced: string
}

/**
 * `npm run relay` and `npm run bridge`: SIGINT and SIGTERM stop the daemon,
 * then `start()` is called. The handlers come first, not after the ready
 * line: a signal sent the moment that line is read must not meet the
 * default action (exit at once, no stop). A signal during start-up stops
 * the daemon once `started` has settled; a start that fails is the
 * caller's to stop. Past FORCE_EXIT_MS the process exits (1).
 */
export function stopOnSignals<T> (start: () => Promise<T>, daemon: SignalledDaemon): { started: Promise<T>, stopping(): boolean } {
  let stopping = false
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    console.log(daemon.stopping(signal))
    setTimeout(() => { console.error(daemon.forced); process.exit(1) }, FORCE_EXIT_MS).unref()
    started.then(async () => { await daemon.stop() }, () => {})
      .then(() => { process.exitCode ??= 0 }, (err: Error) => { console.error(err.message); process.exitCode = 1 })
  }
  process.once('SIGINT', () => { shutdown('SIGINT') })
  process.once('SIGTERM', () => { shutdown('SIGTERM') })
  const started = start()
  return { started, stopping: () => stopping }
}
