import { performance } from 'node:perf_hooks'

export interface Measured<T> {
  result: T
  ms: number
  /** Share of the wall time the process's main thread was busy (event-loop utilisation, 0–1). */
  busy: number
  /** CPU time of the whole process (user + system, every thread), ms. */
  cpuMs: number
}

/** Run `fn`, timing it and recording how busy the main thread and the CPU were meanwhile. */
export async function measure<T> (fn: () => Promise<T>): Promise<Measured<T>> {
  const elu = performance.eventLoopUtilization()
  const cpu = process.cpuUsage()
  const started = performance.now()
  const result = await fn()
  const ms = performance.now() - started
  const used = process.cpuUsage(cpu)
  return { result, ms, busy: performance.eventLoopUtilization(elu).utilization, cpuMs: (used.user + used.system) / 1000 }
}
