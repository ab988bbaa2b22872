/**
 * `npm start`'s build step: run `vite build` only when the web app's inputs
 * changed since the last build. The inputs are every file under web/ and
 * public/, vite.config.ts, package-lock.json and tsconfig.json; their paths,
 * sizes and modification times are hashed into dist/web/.build-inputs,
 * written after a successful build (into $PIPBINGO_WEB_ROOT when set, the
 * relay's --web-root variable, so building and serving agree). A fresh clone, an edit, a pull or an
 * `npm ci` that changed a dependency rebuilds; an unchanged tree starts at
 * once. `--force` always builds.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Where the relay serves the app from: its --web-root's variable, else dist/web (relay/config.ts). */
const OUT = process.env.PIPBINGO_WEB_ROOT != null && process.env.PIPBINGO_WEB_ROOT !== '' ? resolve(ROOT, process.env.PIPBINGO_WEB_ROOT) : join(ROOT, 'dist', 'web')
const STAMP = join(OUT, '.build-inputs')
const INPUTS = ['web', 'public', 'vite.config.ts', 'package-lock.json', 'tsconfig.json']

async function files (path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined)
  if (info == null) return []
  if (!info.isDirectory()) return [path]
  const out: string[] = []
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name))
  }
  return out
}

/** A hash of every input's path, size and modification time. */
async function inputsHash (): Promise<string> {
  const all = (await Promise.all(INPUTS.map(async p => await files(join(ROOT, p))))).flat().sort()
  const hash = createHash('sha256')
  for (const f of all) {
    const s = await stat(f)
    hash.update(`${relative(ROOT, f)}\0${s.size}\0${s.mtimeMs}\n`)
  }
  return hash.digest('hex')
}

async function main (): Promise<void> {
  const force = process.argv.includes('--force')
  const wanted = await inputsHash()
  const built = await readFile(STAMP, 'utf8').catch(() => '')
  if (!force && built.trim() === wanted && await stat(join(OUT, 'index.html')).then(() => true, () => false)) {
    console.log(`web app: ${relative(ROOT, OUT) || OUT} is up to date (tools/build-web.ts --force rebuilds)`)
    return
  }
  console.log(`web app: building ${relative(ROOT, OUT) || OUT} …`)
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js')
  const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn', '--outDir', OUT, '--emptyOutDir'], { cwd: ROOT, stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
  await writeFile(STAMP, `${wanted}\n`)
}

await main()
