/**
 * Runs test files again and again, to see how often they fail:
 *
 *     npm run soak -- tests/e2e/browser-peers.test.ts [more files] --times 10
 *
 * Each run is a fresh `vitest run <files>` (this Node, one after the other).
 * One line per run: passed or failed, how long it took, and the full names
 * of the tests that failed (from vitest's JSON report). Then
 * `passed X of N`; the exit code is 1 if any run failed. Every run's output
 * is kept in a log file, whose folder is printed at the end when a run
 * failed or `--keep` was given (and removed otherwise).
 */
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'

const USAGE = 'Usage: npm run soak -- <test file> [more files] --times N [--keep]'

const argsSchema = z.object({
  files: z.array(z.string().min(1)).min(1, 'give at least one test file'),
  times: z.coerce.number({ error: 'give --times N' }).int().positive()
})

/** The part of vitest's `--reporter=json` file read here. */
const reportSchema = z.object({
  testResults: z.array(z.object({
    name: z.string(),
    status: z.string(),
    message: z.string().optional(),
    assertionResults: z.array(z.object({ fullName: z.string(), status: z.string() }))
  }))
})

interface RunResult {
  passed: boolean
  ms: number
  /** Failed tests by full name; a file that failed outside any test, by its path and message. */
  failed: string[]
}

const VITEST = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs')

async function runOnce (files: string[], logPath: string, reportPath: string): Promise<RunResult> {
  const started = performance.now()
  const log = createWriteStream(logPath)
  const child = spawn(process.execPath, [VITEST, 'run', ...files, '--reporter=default', '--reporter=json', `--outputFile=${reportPath}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' }
  })
  child.stdout.pipe(log, { end: false })
  child.stderr.pipe(log, { end: false })
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (exitCode, signal) => { resolve(exitCode ?? (signal != null ? 128 : 1)) })
  })
  await new Promise<void>(resolve => log.end(resolve))
  const ms = performance.now() - started
  const failed: string[] = []
  try {
    const report = reportSchema.parse(JSON.parse(await readFile(reportPath, 'utf8')))
    for (const file of report.testResults) {
      const tests = file.assertionResults.filter(t => t.status === 'failed').map(t => t.fullName)
      if (tests.length > 0) failed.push(...tests)
      else if (file.status === 'failed') failed.push(`${relative(process.cwd(), file.name)}: ${file.message?.split('\n')[0] ?? 'failed'}`)
    }
  } catch {
    failed.push(`no JSON report from vitest (exit code ${code})`)
  }
  return { passed: code === 0 && failed.length === 0, ms, failed }
}

async function main (): Promise<number> {
  const { values, positionals } = parseArgs({ options: { times: { type: 'string', short: 'n' }, keep: { type: 'boolean' } }, allowPositionals: true })
  const parsed = argsSchema.safeParse({ files: positionals, times: values.times })
  if (!parsed.success) {
    console.error(`${parsed.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('; ')}\n${USAGE}`)
    return 2
  }
  const { files, times } = parsed.data
  const logs = await mkdtemp(join(tmpdir(), 'pipbingo-soak-'))
  let passed = 0
  for (let i = 1; i <= times; i++) {
    const run = await runOnce(files, join(logs, `run-${i}.log`), join(logs, `run-${i}.json`))
    if (run.passed) passed++
    const failures = run.failed.length > 0 ? ` — ${run.failed.map(name => `✗ ${name}`).join('; ')}` : ''
    console.log(`run ${i}/${times}: ${run.passed ? 'passed' : 'failed'} in ${(run.ms / 1000).toFixed(1)} s${failures}`)
  }
  console.log(`passed ${passed} of ${times}`)
  if (passed === times && values.keep !== true) {
    await rm(logs, { recursive: true, force: true })
    return 0
  }
  console.log(`vitest's output of every run: ${logs}/run-<i>.log`)
  return passed === times ? 0 : 1
}

process.exitCode = await main()
