import { mkdir, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { REPO_ROOT } from './bridge-process'

/**
 * The bridge's own code (node-bridge/ and the @core it imports) bundled into
 * one ES module by esbuild, packages left as imports: the same program as
 * `npm run bridge` without tsx compiling TypeScript at start-up — what a
 * built release would run. Written to `dir/node-bridge/ipc/bridge.mjs`,
 * under links to the repository's `node_modules` and `package.json`, so
 * what it resolves at run time resolves as in the repository: packages, and
 * `../../package.json` (node-bridge/ipc/status.ts reads its version there).
 * Returns the path to run with `node <path>`, or why there is none when
 * esbuild cannot be loaded (it is tsx's dependency, not ours).
 */
export async function bundleBridge (dir: string): Promise<{ path?: string, why?: string }> {
  let esbuild: typeof import('esbuild')
  try {
    esbuild = await import('esbuild')
  } catch (err: any) {
    return { why: `esbuild is not available (${err?.message ?? err})` }
  }
  await mkdir(join(dir, 'node-bridge', 'ipc'), { recursive: true })
  await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  await symlink(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'), 'file')
  const path = join(dir, 'node-bridge', 'ipc', 'bridge.mjs')
  await esbuild.build({
    entryPoints: [join(REPO_ROOT, 'node-bridge', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    packages: 'external',
    alias: { '@core': join(REPO_ROOT, 'web', 'core') },
    outfile: path,
    logLevel: 'warning'
  })
  return { path }
}
