import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { langFromArgs } from './messages'
import { DAEMON_NODE_FLAGS } from './node-flags'

/**
 * `npm start`: the relay and the bridge together, each in its own process,
 * their lines prefixed. Built (dist/node/start-all.js, tools/build.mjs), it
 * runs the built relay.js and bridge.js beside it; run from its source
 * (`tsx node-bridge/start-all.ts`), it runs theirs through tsx. The bridge
 * starts at once: it retries until the relay is up.
 * A signal stops both; if one exits on its own, the other is stopped too.
 * Arguments after `--` go to the bridge; `--lang` goes to the relay too.
 */
const children: Array<{ name: string, child: ChildProcess }> = []
let stopping = false

const built = !import.meta.url.endsWith('.ts')

/** How to run a program: its bundle beside this one, or its TypeScript through tsx; with the daemons' V8 flags either way. */
function program (bundle: string, source: string): string[] {
  return [...DAEMON_NODE_FLAGS, ...built ? [fileURLToPath(new URL(`./${bundle}.js`, import.meta.url))] : ['--import', 'tsx', source]]
}

function start (name: string, script: string[], args: string[]): ChildProcess {
  const child = spawn(process.execPath, [...script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const prefix = `${name.padEnd(6)} │ `
  createInterface({ input: child.stdout! }).on('line', line => { process.stdout.write(`${prefix}${line}\n`) })
  createInterface({ input: child.stderr! }).on('line', line => { process.stderr.write(`${prefix}${line}\n`) })
  child.once('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`${prefix}exited (${signal ?? code}): stopping the rest\n`)
      process.exitCode = code ?? 1
      stop('SIGTERM')
    }
  })
  children.push({ name, child })
  return child
}

function stop (signal: NodeJS.Signals): void {
  stopping = true
  for (const { child } of children) if (child.exitCode == null && child.signalCode == null) child.kill(signal)
}

const args = process.argv.slice(2)
// the one flag both speak: the language of their consoles (the locale applies to both anyway)
const lang = langFromArgs(args, {})
start('relay', program('relay', 'relay/main.ts'), args.some(a => a === '--lang' || a.startsWith('--lang=')) ? ['--lang', lang] : [])
start('bridge', program('bridge', 'node-bridge/main.ts'), args)
process.once('SIGINT', () => { stop('SIGINT') })
process.once('SIGTERM', () => { stop('SIGTERM') })
