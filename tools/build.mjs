#!/usr/bin/env node
/**
 * The production build, the first step of `npm start`, `npm run relay`,
 * `npm run bridge` and the `pipbingo` bin. Plain JavaScript, so that it
 * runs in any Node ≥ 20 before anything is compiled.
 *
 * - `web`: the web app, `vite build` → dist/web (or $PIPBINGO_WEB_ROOT, the
 *   relay's --web-root variable, so building and serving agree).
 * - `node`: the relay, the bridge, the CLI and `npm start`'s launcher,
 *   bundled by esbuild → dist/node/{relay,bridge,cli,start-all}.js, shared
 *   code in chunks beside them. Packages are bundled too (node-datachannel,
 *   a native addon, stays an import): a bridge that loads one bundle instead
 *   of ~1,500 modules is ready in about a third of the time and holds ~25 MB
 *   less than one compiled by tsx at start-up (docs/BENCHMARKS.md, "start-up
 *   to ready"). tsx stays for development and the tests, which run the sources.
 *
 * Each part is built only when its inputs changed since its last build: the
 * paths, sizes and modification times of its inputs are hashed into
 * `<out>/.build-inputs`, written after a successful build. A fresh clone, an
 * edit, a pull or an `npm ci` that changed a dependency rebuilds; an
 * unchanged tree starts at once. `--force` always builds.
 *
 *   node tools/build.mjs [web] [node] [--force] [--quiet]
 *
 * `--quiet` prints nothing when a part is up to date (the CLI's output stays
 * its own); a build always says so, on stderr.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Where each part records the inputs of its last build. */
const STAMP = '.build-inputs'
const SHARED_INPUTS = ['package-lock.json', 'tsconfig.json', 'tools/build.mjs']

/** Where the relay serves the app from: its --web-root's variable, else dist/web (relay/config.ts). */
const WEB_OUT = process.env.PIPBINGO_WEB_ROOT != null && process.env.PIPBINGO_WEB_ROOT !== '' ? resolve(ROOT, process.env.PIPBINGO_WEB_ROOT) : join(ROOT, 'dist', 'web')
const NODE_OUT = join(ROOT, 'dist', 'node')

/** The Node programs: output name → source. */
const NODE_ENTRIES = {
  relay: 'relay/main.ts',
  bridge: 'node-bridge/main.ts',
  cli: 'node-bridge/cli/main.ts',
  'start-all': 'node-bridge/start-all.ts'
}

async function files (path) {
  const info = await stat(path).catch(() => undefined)
  if (info == null) return []
  if (!info.isDirectory()) return [path]
  const out = []
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    // parentPath from Node 20.12, path before it
    if (entry.isFile()) out.push(join(entry.parentPath ?? entry.path, entry.name))
  }
  return out
}

/** A hash of every input's path, size and modification time. */
async function inputsHash (inputs) {
  const all = (await Promise.all(inputs.map(async p => await files(join(ROOT, p))))).flat().sort()
  const hash = createHash('sha256')
  for (const f of all) {
    const s = await stat(f)
    hash.update(`${relative(ROOT, f)}\0${s.size}\0${s.mtimeMs}\n`)
  }
  return hash.digest('hex')
}

async function buildWeb () {
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js')
  const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn', '--outDir', WEB_OUT, '--emptyOutDir'], { cwd: ROOT, stdio: 'inherit' })
  if (result.status !== 0) throw new Error(`vite build exited with ${result.status ?? result.signal}`)
}

/**
 * Several processes may build at once (on a fresh clone, the tests start
 * the bin in parallel): nothing is removed first, and each file is written
 * whole under a temporary name then renamed, entries after the chunks they
 * import, so a reader that finds the stamp up to date finds complete files.
 * The same inputs give the same files, so two builders agree.
 */
async function buildNode () {
  const esbuild = await import('esbuild')
  const { outputFiles } = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: NODE_ENTRIES,
    outdir: NODE_OUT,
    write: false,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    alias: { '@core': join(ROOT, 'web', 'core') },
    // a native addon cannot be bundled; it is imported from node_modules as before
    external: ['node-datachannel'],
    // the CommonJS packages (express and its dependencies) require Node's builtins
    banner: { js: "import { createRequire as __pipbingoCreateRequire } from 'node:module'; const require = __pipbingoCreateRequire(import.meta.url);" },
    // stack traces name the sources with NODE_OPTIONS=--enable-source-maps (off by default: it costs start-up time)
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning'
  })
  await mkdir(NODE_OUT, { recursive: true })
  const entries = new Set(Object.keys(NODE_ENTRIES).map(name => join(NODE_OUT, `${name}.js`)))
  const ordered = [...outputFiles.filter(f => !entries.has(f.path)), ...outputFiles.filter(f => entries.has(f.path))]
  for (const file of ordered) {
    const temporary = `${file.path}.${process.pid}.tmp`
    await writeFile(temporary, file.contents)
    await rename(temporary, file.path)
  }
  // what an older build left (its chunks had other names)
  const written = new Set(outputFiles.map(f => basename(f.path)))
  for (const name of await readdir(NODE_OUT)) {
    if (!written.has(name) && name !== STAMP && !name.endsWith('.tmp')) await rm(join(NODE_OUT, name), { force: true })
  }
}

const PARTS = {
  web: { out: WEB_OUT, inputs: ['web', 'public', 'vite.config.ts', ...SHARED_INPUTS], build: buildWeb, ready: 'index.html', what: 'web app' },
  node: { out: NODE_OUT, inputs: ['node-bridge', 'relay', 'web/core', ...SHARED_INPUTS], build: buildNode, ready: 'bridge.js', what: 'node programs' }
}

/** Build `name` ('web' or 'node') unless its inputs are those of its last build. Returns whether it built. */
export async function ensureBuilt (name, { force = false, quiet = false } = {}) {
  const part = PARTS[name]
  const stamp = join(part.out, STAMP)
  const shown = relative(ROOT, part.out) || part.out
  const wanted = await inputsHash(part.inputs)
  const built = await readFile(stamp, 'utf8').catch(() => '')
  if (!force && built.trim() === wanted && await stat(join(part.out, part.ready)).then(() => true, () => false)) {
    if (!quiet) console.log(`${part.what}: ${shown} is up to date (tools/build.mjs --force rebuilds)`)
    return false
  }
  console.error(`${part.what}: building ${shown} …`)
  const started = performance.now()
  await part.build()
  const temporary = `${stamp}.${process.pid}.tmp`
  await writeFile(temporary, `${wanted}\n`)
  await rename(temporary, stamp)
  if (!quiet) console.log(`${part.what}: built ${shown} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return true
}

async function main () {
  const args = process.argv.slice(2)
  const unknown = args.filter(a => !['web', 'node', '--force', '--quiet'].includes(a))
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')} (usage: node tools/build.mjs [web] [node] [--force] [--quiet])`)
  const names = args.filter(a => a in PARTS)
  for (const name of names.length > 0 ? names : Object.keys(PARTS)) {
    await ensureBuilt(name, { force: args.includes('--force'), quiet: args.includes('--quiet') })
  }
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch(err => {
    console.error(`❌ build failed: ${err.message}`)
    process.exitCode = 1
  })
}
