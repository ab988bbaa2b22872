import { readFile } from 'node:fs/promises'
import type { Browser } from 'playwright-core'

export interface CpuReport {
  wallMs: number
  /** Share of all the machine's cores busy (not idle, not waiting for I/O), from /proc/stat; undefined where there is none. */
  machineBusy?: number
  /** CPU ms per labelled browser and Chromium process type (`A renderer`, `B network.mojom.NetworkService`, …), summed over processes of that type. */
  chromium: Record<string, number>
  /** CPU ms of this Node process (the relay and the bench). */
  nodeMs: number
}

async function procStat (): Promise<{ busy: number, total: number } | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!
    const fields = line.trim().split(/\s+/).slice(1).map(Number)
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0)
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
    return { busy: total - idle, total }
  } catch {
    return undefined
  }
}

async function chromiumCpu (browsers: ReadonlyArray<{ label: string, browser: Browser }>): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const { label, browser } of browsers) {
    const cdp = await browser.newBrowserCDPSession()
    try {
      const { processInfo } = await cdp.send('SystemInfo.getProcessInfo') as { processInfo: Array<{ type: string, id: number, cpuTime: number }> }
      for (const p of processInfo) {
        const key = `${label} ${p.type}`
        out[key] = (out[key] ?? 0) + p.cpuTime * 1000
      }
    } finally {
      await cdp.detach().catch(() => {})
    }
  }
  return out
}

/**
 * Start watching where the CPU goes: the whole machine (/proc/stat), each
 * Chromium process type of each browser (CDP SystemInfo.getProcessInfo:
 * processes that exit meanwhile drop out) and this Node process. The
 * returned function stops and gives the differences.
 */
export async function watchCpu (browsers: ReadonlyArray<{ label: string, browser: Browser }>): Promise<() => Promise<CpuReport>> {
  const stat0 = await procStat()
  const chromium0 = await chromiumCpu(browsers)
  const node0 = process.cpuUsage()
  const started = performance.now()
  return async () => {
    const wallMs = performance.now() - started
    const node = process.cpuUsage(node0)
    const stat1 = await procStat()
    const chromium1 = await chromiumCpu(browsers)
    const chromium: Record<string, number> = {}
    for (const [key, ms] of Object.entries(chromium1)) chromium[key] = Math.max(0, ms - (chromium0[key] ?? 0))
    return {
      wallMs,
      machineBusy: stat0 == null || stat1 == null || stat1.total === stat0.total ? undefined : (stat1.busy - stat0.busy) / (stat1.total - stat0.total),
      chromium,
      nodeMs: (node.user + node.system) / 1000
    }
  }
}

/**
 * A short line: the machine's busy share, the biggest CPU users in
 * CPU-seconds per wall-second, and with `bytes` (moved per report) the CPU
 * of both browsers and Node together per MB (10^6 bytes); medians.
 */
export function describeCpu (reports: readonly CpuReport[], bytes?: number): string {
  if (reports.length === 0) return ''
  const keys = new Set(reports.flatMap(r => Object.keys(r.chromium)))
  const perWall = (f: (r: CpuReport) => number): number => {
    const xs = reports.map(r => f(r) / r.wallMs).sort((a, b) => a - b)
    return xs[Math.floor(xs.length / 2)]!
  }
  const users = [...keys].map(k => ({ k, v: perWall(r => r.chromium[k] ?? 0) }))
  users.push({ k: 'Node (relay + bench)', v: perWall(r => r.nodeMs) })
  const top = users.filter(u => u.v >= 0.05).sort((a, b) => b.v - a.v).map(u => `${u.k} ${u.v.toFixed(2)}`)
  const busy = reports.every(r => r.machineBusy != null) ? `machine ${Math.round(perWall(r => r.machineBusy! * r.wallMs) * 100)} % busy (all cores); ` : ''
  const total = (r: CpuReport): number => Object.values(r.chromium).reduce((a, b) => a + b, 0) + r.nodeMs
  const perMB = bytes == null ? '' : `; ${median(reports.map(r => total(r) / (bytes / 1e6))).toFixed(0)} CPU-ms per MB in all`
  return `${busy}CPU-seconds per second: ${top.join(', ')}${perMB}`
}

function median (xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** Median CPU-ms (both browsers and Node) per MB moved, and median machine busy share. */
export function cpuPerMB (reports: readonly CpuReport[], bytes: number): { ms: number, busy?: number } {
  const total = (r: CpuReport): number => Object.values(r.chromium).reduce((a, b) => a + b, 0) + r.nodeMs
  const busy = reports.every(r => r.machineBusy != null) ? median(reports.map(r => r.machineBusy!)) : undefined
  return { ms: median(reports.map(r => total(r) / (bytes / 1e6))), busy }
}
