import { execFile } from 'node:child_process'
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const run = async (): Promise<string> => (await promisify(execFile)(process.execPath, ['--import', 'tsx', 'tools/build-web.ts'], { cwd: ROOT })).stdout

/**
 * Issue 13, row 11: `npm start` rebuilt the web app every time (~10 s
 * before the URL). Its build step (tools/build-web.ts) now builds only
 * when an input changed. This runs the real tool on the repository's
 * dist/web (the other tests build their own copy elsewhere).
 */
describe('npm start\'s build step', () => {
  it('builds when the inputs changed since the last build, and not when they did not', async () => {
    await run() // whatever state dist/web is in, it is up to date after this
    const page = join(ROOT, 'dist', 'web', 'index.html')
    const built = (await stat(page)).mtimeMs
    expect(await run()).toMatch(/^web app: dist\/web is up to date/)
    expect((await stat(page)).mtimeMs).toBe(built)
    // what an edit, a pull or a dependency change does: the recorded inputs no longer match
    await writeFile(join(ROOT, 'dist', 'web', '.build-inputs'), 'stale\n')
    expect(await run()).toMatch(/^web app: building dist\/web/)
    expect(await run()).toMatch(/^web app: dist\/web is up to date/)
  }, 120_000)
})
