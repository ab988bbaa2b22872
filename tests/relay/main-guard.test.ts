import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { spawnDaemon, type Daemon } from '../helpers/daemon'

/** `relay/main.ts` on ephemeral ports over an empty library in a fresh folder; `run` gets the daemon, then both are cleaned up. */
async function withRelay (env: NodeJS.ProcessEnv, run: (relay: Daemon) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'pipbingo-relay-main-'))
  await mkdir(join(dir, 'library'))
  await mkdir(join(dir, 'web'))
  const relay = spawnDaemon('relay/main.ts', [
    '--http-port', '0', '--tcp-port', '0', '--ws-port', '0',
    '--library', join(dir, 'library'), '--data-dir', join(dir, 'data'), '--web-root', join(dir, 'web')
  ], env)
  try {
    await run(relay)
  } finally {
    await relay.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

describe('relay/main.ts', () => {
  it('logs an unhandled rejection with its stack and keeps serving', async () => {
    await withRelay({}, async (relay) => {
      // a relay compiled by tsx on a loaded machine can take a while to start (Daemon.line waits up to 60 s)
      const url = (await relay.line(/✅ open (http:\/\/\S+?)\/ /))[1]!.replace('localhost', '127.0.0.1')
      relay.rejectUnhandled()
      await relay.line(/❌ unhandled rejection, the relay keeps running: Error: pipbingo test: a rejection nobody handles/)
      await relay.line(/at .*reject-on-sigusr2\.mjs/)
      expect(await (await fetch(`${url}/health`)).text()).toBe('OK')
      expect(relay.exitCode()).toBeNull()
    })
  }, 90_000)

  it('speaks French with a French locale, from its first line to its last', async () => {
    await withRelay({ PIPBINGO_LANG: '', LANG: 'fr_FR.UTF-8' }, async (relay) => {
      await relay.line(/^🚀 démarrage du relais pipbingo…$/)
      await relay.line(/^🎬 0 vidéo\(s\) dans /)
      await relay.line(/^✅ ouvrez http:\/\/localhost:\d+\/ {3}\(catalogue : /)
      relay.child.kill('SIGTERM')
      await relay.line(/^SIGTERM : arrêt du relais…$/)
    })
  }, 90_000)
})
