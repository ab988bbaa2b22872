import { realpathSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runChat } from './chat'
import { ApiClient } from './client'
import { cancel, download, ls, stats, status, watch, type CommandContext } from './commands'
import { CliError } from './errors'
import type { Output } from './progress'
import { LANGS, langFromArgs, langFromEnv, messages, type Lang } from '../messages'

/** Run the CLI; returns the exit code. Separate from the process so tests can call it. */
export async function runCli (argv: string[], io: { out: Output, err: Output, env: NodeJS.ProcessEnv, signal?: AbortSignal, input?: AsyncIterable<string> }): Promise<number> {
  // the chat speaks the IPC, not the REST API: its own options
  if (argv[0] === 'chat') return await runChat(argv.slice(1), io)
  let m = messages(langFromArgs(argv, io.env)).cli
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: { api: { type: 'string' }, json: { type: 'boolean' }, detach: { type: 'boolean' }, lang: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true
    })
  } catch (err: any) {
    io.err.write(`${err.message}\n\n${m.usage}\n`)
    return 2
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.help === true || command == null) {
    io.out.write(`${m.usage}\n`)
    return command == null && values.help !== true ? 2 : 0
  }
  if (values.lang != null && !(LANGS as readonly string[]).includes(values.lang)) {
    io.err.write(`${m.badLang(values.lang, LANGS.join(', '))}\n`)
    return 2
  }
  const lang = (values.lang as Lang | undefined) ?? langFromEnv(io.env)
  m = messages(lang).cli
  const api = (values.api ?? io.env.PIPBINGO_API ?? 'http://127.0.0.1:9090').replace(/\/+$/, '')
  const ctx: CommandContext = { client: new ApiClient(api, undefined, lang), out: io.out, json: values.json === true, detach: values.detach === true, signal: io.signal, lang }
  try {
    switch (command) {
      case 'download': return await download(ctx, rest)
      case 'status': return await status(ctx)
      case 'stats': return await stats(ctx)
      case 'ls': case 'list': return await ls(ctx)
      case 'cancel': return await cancel(ctx, rest)
      case 'watch': return await watch(ctx)
      default:
        io.err.write(`${m.unknownCommand(command)}\n\n${m.usage}\n`)
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

