import { execFile, spawn } from 'node:child_process'
import { access, constants, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { delimiter, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from './bridge-process'

/** webtorrent 3 declares `engines: node >= 22`: the machine's own Node may be older. */
const MIN_NODE_MAJOR = 22
const INSTALL_TIMEOUT_MS = 3 * 60_000
/**
 * webtorrent 3 reaches node-datachannel through webrtc-polyfill (^0.32), whose
 * native binary only an install script fetches (from GitHub), so with
 * --ignore-scripts it is missing and `import 'webtorrent'` throws. 0.33 ships
 * its binaries as per-platform optional packages from the npm registry, and is
 * the version the bridge itself loads. Nothing here uses WebRTC: the import
 * only has to succeed.
 */
const NODE_DATACHANNEL = '0.33.4'

/** A folder outside the project's dependencies where webtorrent 3 imports under Node ≥ 22. */
export interface AnchorTools {
  /** The Node binary that runs WebTorrent and the HTTP client. */
  node: string
  nodeVersion: string
  /** The folder holding node_modules/webtorrent (the children's scripts go there). */
  dir: string
  webtorrentVersion: string
}

/**
 * Find the project's Node ≥ 22 and install webtorrent 3 into `dir`. Never
 * throws for a missing tool or a failed install: returns why instead, so the
 * suite can say it skipped (no network, no npm, no Node 24 in node_modules).
 */
export async function prepareAnchorTools (dir: string, progress: (message: string) => void): Promise<AnchorTools | { why: string }> {
  const node = await projectNode()
  if ('why' in node) return node
  progress(`Node ${node.version} at ${node.path}; npm install --prefix ${dir} webtorrent@3 --ignore-scripts (node-datachannel overridden to ${NODE_DATACHANNEL})`)
  const installed = await installWebTorrent(node.path, dir)
  if (installed != null) return { why: installed }
  const imported = await importError(node.path, dir)
  if (imported != null) return { why: `webtorrent installed but does not import: ${imported}` }
  const { version } = JSON.parse(await readFile(join(dir, 'node_modules', 'webtorrent', 'package.json'), 'utf8')) as { version: string }
  return { node: node.path, nodeVersion: node.version, dir, webtorrentVersion: version }
}

/**
 * The Node of the npm package `node` (a devDependency: Node 24), found from
 * its package.json's `bin`, not from PATH: the machine's default `node` is
 * older than webtorrent 3 accepts.
 */
async function projectNode (): Promise<{ path: string, version: string } | { why: string }> {
  let manifest: string
  try {
    manifest = createRequire(join(REPO_ROOT, 'package.json')).resolve('node/package.json')
  } catch {
    return { why: 'the npm package `node` (the project\'s Node 24) is not in node_modules' }
  }
  const { bin } = JSON.parse(await readFile(manifest, 'utf8')) as { bin?: { node?: string } }
  const path = join(dirname(manifest), bin?.node ?? 'bin/node')
  try {
    await access(path, constants.X_OK)
    const { stdout } = await promisify(execFile)(path, ['-p', 'process.versions.node'], { timeout: 30_000 })
    const version = stdout.trim()
    if (Number(version.split('.')[0]) < MIN_NODE_MAJOR) return { why: `${path} is Node ${version}; webtorrent 3 needs Node ≥ ${MIN_NODE_MAJOR}` }
    return { path, version }
  } catch (err: any) {
    return { why: `${path} does not run: ${err?.message ?? err}` }
  }
}

/** `npm install` into `dir`, npm itself run by `node` (PATH puts it first); resolves with why it failed, if it did. */
async function installWebTorrent (node: string, dir: string): Promise<string | undefined> {
  await writeFile(join(dir, 'package.json'), JSON.stringify({ private: true, overrides: { 'node-datachannel': NODE_DATACHANNEL } }))
  // `npm run bench` exports npm_config_* of the project: the install must not see them
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')))
  env.PATH = `${dirname(node)}${delimiter}${env.PATH ?? ''}`
  // --prefer-offline: npm's cache answers without asking the registry again; few, short retries, so
  // that without a network the suite says it skipped within seconds, not after npm's minutes of backoff
  const args = ['install', '--prefix', dir, 'webtorrent@3', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline',
    '--fetch-retries=1', '--fetch-retry-mintimeout=2000', '--fetch-retry-maxtimeout=10000', '--fetch-timeout=30000']
  return await new Promise(resolve => {
    const child = spawn('npm', args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: INSTALL_TIMEOUT_MS, killSignal: 'SIGKILL' })
    const output: string[] = []
    child.stdout.on('data', (b: Buffer) => output.push(b.toString()))
    child.stderr.on('data', (b: Buffer) => output.push(b.toString()))
    child.once('error', err => { resolve(`npm could not be run: ${err.message}`) })
    child.once('exit', (code, signal) => {
      const lines = output.join('').split('\n').filter(l => l.trim() !== '')
      const errors = lines.filter(l => /^npm error (code |\S*Error: )/.test(l))
      const said = (errors.length > 0 ? errors : lines.slice(-3)).join(' / ')
      const how = signal === 'SIGKILL' ? `was stopped after ${INSTALL_TIMEOUT_MS / 60_000} min` : `exited with ${code}`
      resolve(code === 0 ? undefined : `npm install ${how}${said === '' ? '' : `: ${said}`}`)
    })
  })
}

/** The first line of the error `import('webtorrent')` throws in `dir`, or undefined when it imports. */
async function importError (node: string, dir: string): Promise<string | undefined> {
  try {
    await promisify(execFile)(node, ['--input-type=module', '-e', 'await import("webtorrent")'], { cwd: dir, timeout: 60_000 })
    return undefined
  } catch (err: any) {
    return `${err?.stderr ?? err?.message ?? err}`.split('\n').find(l => /Error/.test(l)) ?? `${err?.message ?? err}`
  }
}
