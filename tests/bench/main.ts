import { rmSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ensureNodeBuild } from './lib/bridge-process'
import { machineInfo } from './lib/machine'
import { renderReport } from './report'
import * as anchors from './suites/anchors'
import * as bridge from './suites/bridge'
import * as browser from './suites/browser'
import * as browserCrowd from './suites/browser-crowd'
import * as flashCrowd from './suites/flash-crowd'
import * as hostileSoak from './suites/hostile-soak'
import * as ipc from './suites/ipc'
import * as offload from './suites/offload'
import * as originDownload from './suites/origin-download'
import * as publishHashing from './suites/publish-hashing'
import * as relays from './suites/relays'
import * as secondViewer from './suites/second-viewer'
import { renderTable } from './table'
import type { BenchContext, Row, Suite } from './types'

/** Every suite, in the order they run. A new suite is a file in suites/ and one line here. */
const SUITES: Suite[] = [originDownload, offload, flashCrowd, relays, hostileSoak, browser, secondViewer, browserCrowd, bridge, anchors, ipc, publishHashing]

/** The whole bench stops by itself past this, whatever hangs (flash-crowd alone took 7–18 minutes on a busy 2-core machine; the browser suites add 15). */
const WATCHDOG_MS = 60 * 60_000

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const reportPath = join(repoRoot, 'docs', 'BENCHMARKS.md')

function progress (message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}

async function main (): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      only: { type: 'string' }
    },
    strict: true
  })
  const runs = values.runs == null ? 3 : Number(values.runs)
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer')
  const only = values.only?.split(',').map(s => s.trim()).filter(s => s !== '')
  const unknown = only?.filter(n => !SUITES.some(s => s.name === n)) ?? []
  if (unknown.length > 0) throw new Error(`unknown suite(s): ${unknown.join(', ')} (have: ${SUITES.map(s => s.name).join(', ')})`)
  const suites = only == null ? SUITES : SUITES.filter(s => only.includes(s.name))
  // the file describes a complete run with the standard repetitions, nothing less
  const writeReport = only == null && values.runs == null

  const root = await mkdtemp(join(tmpdir(), 'pipbingo-bench-'))
  const cleanupSync = (): void => { rmSync(root, { recursive: true, force: true }) }
  const onSignal = (signal: NodeJS.Signals): void => {
    progress(`${signal}: removing ${root} and stopping`)
    cleanupSync()
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const watchdog = setTimeout(() => {
    progress(`the bench ran past ${WATCHDOG_MS / 60_000} minutes: giving up`)
    cleanupSync()
    process.exit(1)
  }, WATCHDOG_MS)
  watchdog.unref()

  const ctx: BenchContext = {
    runs,
    progress,
    tempDir: async (prefix) => await mkdtemp(join(root, prefix))
  }
  const machine = await machineInfo(repoRoot)
  progress(`${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB, Node ${machine.node}; ${runs} runs per measurement; temp ${root}`)
  // the relay and the bridge run as `npm run relay`/`bridge` run them: the production build
  await ensureNodeBuild()
  const started = performance.now()
  const rows: Row[] = []
  let failed = 0
  try {
    for (const suite of suites) {
      const t = performance.now()
      progress(`suite ${suite.name}: start`)
      try {
        rows.push(...await suite.run(ctx))
        progress(`suite ${suite.name}: done in ${((performance.now() - t) / 1000).toFixed(1)} s`)
      } catch (err: any) {
        failed++
        progress(`suite ${suite.name} FAILED: ${err?.stack ?? err}`)
        rows.push({ suite: suite.name, name: 'FAILED', value: Number.NaN, unit: '', met: false, notes: `The suite failed: ${err?.message ?? err}` })
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true })
    clearTimeout(watchdog)
  }
  const seconds = (performance.now() - started) / 1000
  const table = renderTable(rows)
  process.stdout.write(`\n${table}\n\n`)
  progress(`all suites in ${seconds.toFixed(0)} s`)
  if (writeReport) {
    await mkdir(dirname(reportPath), { recursive: true })
    await writeFile(reportPath, renderReport({ machine, runs, seconds, table }))
    progress(`wrote ${reportPath}`)
  } else {
    progress(`${reportPath} not written: only a full run with the default repetitions (no --only, no --runs) writes it`)
  }
  // a target not met is a finding, reported in the table, not a failure of the bench
  return failed > 0 ? 1 : 0
}

main().then(code => {
  process.exitCode = code
  // a handle some library left open must not keep the bench alive
  setTimeout(() => { progress('handles still open after the bench: exiting anyway'); process.exit(code) }, 5_000).unref()
}, (err: any) => {
  progress(`bench failed: ${err?.stack ?? err}`)
  process.exit(1)
})
