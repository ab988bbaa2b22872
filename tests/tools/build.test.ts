import { execFile } from 'node:child_process'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const run = async (...args: string[]): Promise<{ stdout: string, stderr: string }> =>
  await promisify(execFile)(process.execPath, ['tools/build.mjs', ...args], { cwd: ROOT })

/**
 * The build step of `npm start`, `npm run relay`/`bridge` and the bin
 * (tools/build.mjs), on the repository's own dist/: each part builds only
 * when its inputs changed. quick-start.test.ts runs the built programs the
 * way the README does; this file checks the tool.
 */
describe('tools/build.mjs', () => {
  it('builds the web app when its inputs changed since the last build, and not when they did not', async () => {
    await run('web') // whatever state dist/web is in, it is up to date after this
    const page = join(ROOT, 'dist', 'web', 'index.html')
    const built = (await stat(page)).mtimeMs
    expect((await run('web')).stdout).toMatch(/^web app: dist\/web is up to date/)
    expect((await stat(page)).mtimeMs).toBe(built)
    // what an edit, a pull or a dependency change does: the recorded inputs no longer match
    await writeFile(join(ROOT, 'dist', 'web', '.build-inputs'), 'stale\n')
    const rebuilt = await run('web')
    expect(rebuilt.stderr).toMatch(/^web app: building dist\/web/)
    expect(rebuilt.stdout).toMatch(/^web app: built dist\/web in/)
    expect((await run('web')).stdout).toMatch(/^web app: dist\/web is up to date/)
  }, 120_000)

  it('bundles the Node programs into dist/node, safely when several processes build at once', async () => {
    // a fresh clone runs the bin from several test files at once: each may find the build stale
    const [a, b] = await Promise.all([run('node', '--force'), run('node', '--force')])
    for (const { stderr } of [a, b]) expect(stderr).toMatch(/^node programs: building dist\/node/)
    expect((await run('node')).stdout).toMatch(/^node programs: dist\/node is up to date/)
    const out = join(ROOT, 'dist', 'node')
    const files = await readdir(out)
    expect(files.filter(f => f.endsWith('.tmp'))).toEqual([])
    for (const program of ['relay', 'bridge', 'cli', 'start-all']) expect(files).toContain(`${program}.js`)
    // compiled JavaScript, no TypeScript loader: the programs run with plain node
    for (const file of files.filter(f => f.endsWith('.js'))) expect(await readFile(join(out, file), 'utf8')).not.toMatch(/from ["']tsx/)
    const help = async (program: string): Promise<string> => (await promisify(execFile)(process.execPath, [join(out, `${program}.js`), '--help'], { cwd: ROOT })).stdout
    expect(await help('relay')).toMatch(/^Usage: npm run relay/)
    expect(await help('bridge')).toMatch(/--api-port/)
    expect(await help('cli')).toMatch(/^Usage: pipbingo <command>/)
  }, 120_000)

  it('refuses an unknown argument', async () => {
    await expect(run('wbe')).rejects.toMatchObject({ stderr: expect.stringMatching(/unknown argument\(s\): wbe/) })
  })
})

describe('the daemons\' V8 flags (node-bridge/node-flags.ts)', () => {
  it('are what npm run relay and npm run bridge pass (package.json repeats them)', async () => {
    const { DAEMON_NODE_FLAGS } = await import('../../node-bridge/node-flags')
    const { scripts } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    for (const program of ['relay', 'bridge']) expect(scripts[program]).toContain(`node ${DAEMON_NODE_FLAGS.join(' ')} dist/node/${program}.js`)
    expect(await readFile(join(ROOT, 'README.md'), 'utf8')).toContain(`node ${DAEMON_NODE_FLAGS.join(' ')} dist/node/relay.js`)
  })
})
