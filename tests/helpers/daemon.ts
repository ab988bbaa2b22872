import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const REJECT_ON_SIGUSR2 = fileURLToPath(new URL('../fixtures/reject-on-sigusr2.mjs', import.meta.url))

export interface Daemon {
  child: ChildProcess
  /** stdout and stderr lines so far. */
  output: string[]
  /** Resolves with the first line (so far or later) that matches; rejects after `timeoutMs` (60 s: tsx compiles a daemon at start, slow on a loaded machine) or when the process ends first. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  /** Make the process reject a promise nobody handles (tests/fixtures/reject-on-sigusr2.mjs). */
  rejectUnhandled(): void
  exitCode(): number | null
  /** SIGTERM, and SIGKILL if it has not exited after `killAfterMs` (default: never); resolves once it has exited. */
  stop(options?: { killAfterMs?: number }): Promise<void>
}

export interface SpawnDaemonOptions {
  /** Run it inside this network namespace (tests/helpers/netns.ts): `ip netns exec <name>`, which execs, so `child.pid` is the daemon's. */
  netns?: { ip: string, name: string }
}

/**
 * A daemon's `main.ts` as `npm run` runs it (this Node, tsx as its
 * loader), with reject-on-sigusr2.mjs preloaded; `env` is added to this
 * process's environment.
 */
export function spawnDaemon (main: string, args: string[], env: NodeJS.ProcessEnv = {}, options: SpawnDaemonOptions = {}): Daemon {
  const node = [process.execPath, '--import', 'tsx', '--import', REJECT_ON_SIGUSR2, main, ...args]
  const [command, ...argv] = options.netns == null ? node : [options.netns.ip, 'netns', 'exec', options.netns.name, ...node]
  const child = spawn(command!, argv, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    // PIPBINGO_DAEMON_DEBUG=<debug pattern> (e.g. 'pipbingo:*'): the daemons' debug lines, kept in `output`
    env: { ...process.env, DEBUG: process.env.PIPBINGO_DAEMON_DEBUG ?? '', ...env }
  })
  const output: string[] = []
  const waiters = new Set<(line: string) => void>()
  // 'close', not 'exit': the process's last lines are read by then
  const exited = new Promise<void>(resolve => child.once('close', () => { resolve() }))
  for (const input of [child.stdout!, child.stderr!]) {
    createInterface({ input }).on('line', line => {
      output.push(line)
      for (const w of waiters) w(line)
    })
  }
  return {
    child,
    output,
    async line (pattern, timeoutMs = 60_000) {
      for (const l of output) {
        const m = pattern.exec(l)
        if (m != null) return m
      }
      return await new Promise((resolve, reject) => {
        const done = (): void => { clearTimeout(timer); waiters.delete(onLine) }
        const timer = setTimeout(() => { done(); reject(new Error(`no line matching ${pattern} in ${timeoutMs} ms:\n${output.join('\n')}`)) }, timeoutMs)
        const onLine = (l: string): void => {
          const m = pattern.exec(l)
          if (m != null) { done(); resolve(m) }
        }
        waiters.add(onLine)
        void exited.then(() => { done(); reject(new Error(`the process exited (${child.exitCode}) before a line matching ${pattern}:\n${output.join('\n')}`)) })
      })
    },
    rejectUnhandled () { child.kill('SIGUSR2') },
    exitCode: () => child.exitCode,
    async stop ({ killAfterMs } = {}) {
      if (child.exitCode != null || child.signalCode != null) return
      child.kill('SIGTERM')
      const timer = killAfterMs == null ? undefined : setTimeout(() => { child.kill('SIGKILL') }, killAfterMs)
      await exited
      clearTimeout(timer)
    }
  }
}
