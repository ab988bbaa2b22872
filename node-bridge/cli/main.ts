import { realpathSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runChat } from './chat'
import { ApiClient } from './client'
import { cancel, download, ls, stats, status, watch, type CommandContext } from './commands'
import { CliError } from './errors'
import type { Output } from './progress'
import { LANGS, langFromEnv, type Lang } from '../messages'

export const CLI_USAGE = `Usage: pipbingo <command> [options]
  download <file>…   download catalogue videos into the daemon's cache, with a live progress bar
  status             every download the daemon knows
  stats              the daemon's P2P counters
  ls                 the relay's catalogue (● = in the cache)
  cancel <file>…     cancel a download and delete its partial file
  watch              live bars of every download under way
  chat …             messages, files, contacts and keys over the daemon's IPC (pipbingo chat --help)
Options:
  --api <url>        the daemon's REST API (default http://127.0.0.1:9090, env PIPBINGO_API)
  --json             print the API's JSON
  --detach           download: return once the daemon has the request
  --lang <en|fr>     language of the tables (default from PIPBINGO_LANG, LC_ALL, LC_MESSAGES, LANG; en)`

/** Run the CLI; returns the exit code. Separate from the process so tests can call it. */
export async function runCli (argv: string[], io: { out: Output, err: Output, env: NodeJS.ProcessEnv, signal?: AbortSignal, input?: AsyncIterable<string> }): Promise<number> {
  // the chat speaks the IPC, not the REST API: its own options
  if (argv[0] === 'chat') return await runChat(argv.slice(1), io)
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: { api: { type: 'string' }, json: { type: 'boolean' }, detach: { type: 'boolean' }, lang: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true
    })
  } catch (err: any) {
    io.err.write(`${err.message}\n\n${CLI_USAGE}\n`)
    return 2
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.help === true || command == null) {
    io.out.write(`${CLI_USAGE}\n`)
    return command == null && values.help !== true ? 2 : 0
  }
  if (values.lang != null && !(LANGS as readonly string[]).includes(values.lang)) {
    io.err.write(`--lang: expected one of ${LANGS.join(', ')}, not "${values.lang}"\n`)
    return 2
  }
  const lang = (values.lang as Lang | undefined) ?? langFromEnv(io.env)
  const api = (values.api ?? io.env.PIPBINGO_API ?? 'http://127.0.0.1:9090').replace(/\/+$/, '')
  const ctx: CommandContext = { client: new ApiClient(api), out: io.out, json: values.json === true, detach: values.detach === true, signal: io.signal, lang }
  try {
    switch (command) {
      case 'download': return await download(ctx, rest)
      case 'status': return await status(ctx)
      case 'stats': return await stats(ctx)
      case 'ls': case 'list': return await ls(ctx)
      case 'cancel': return await cancel(ctx, rest)
      case 'watch': return await watch(ctx)
      default:
        io.err.write(`Unknown command "${command}"\n\n${CLI_USAGE}\n`)
        return 2
    }
  } catch (err: any) {
    if (err?.name !== 'CliError') throw err
    io.err.write(`❌ ${(err as CliError).message}\n`)
    return (err as CliError).exitCode
  }
}

/**
 * Run the CLI on this process's arguments and streams, setting the exit
 * code. The bin (`pipbingo.mjs`: npx, a global install, `node_modules/.bin`)
 * calls it; so does this file when it is the script run (`npm run pipbingo`).
 */
export function main (): void {
  const controller = new AbortController()
  process.once('SIGINT', () => { controller.abort(); process.exitCode = 130 })
  runCli(process.argv.slice(2), {
    out: { write: t => { process.stdout.write(t) }, isTTY: process.stdout.isTTY, columns: process.stdout.columns },
    err: { write: t => { process.stderr.write(t) } },
    env: process.env,
    signal: controller.signal,
    input: process.argv[2] === 'chat' && process.argv[3] === 'with' ? createInterface({ input: process.stdin }) : undefined
  }).then(code => { process.exitCode ??= code }, (err: Error) => {
    if (controller.signal.aborted) return
    process.stderr.write(`❌ ${err.stack ?? err.message}\n`)
    process.exitCode = 1
  })
}

/** This file is the script run (`tsx node-bridge/cli/main.ts`), however the path was spelled (symlinks resolved). */
function isScript (): boolean {
  const script = process.argv[1]
  if (script == null) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isScript()) main()

