import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { spawnDaemon } from '../helpers/daemon'

describe('node-bridge/main.ts', () => {
  it('logs an unhandled rejection with its stack and keeps serving', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipbingo-bridge-main-'))
    const bridge = spawnDaemon('node-bridge/main.ts', [
      '--api-port', '0', '--p2p-port', '0', '--ws-port', '0', '--ipc-port', '0', '--ipc-ws-port', '0',
      // no relay there: the daemon starts anyway and retries in the background
      '--relay-http', 'http://127.0.0.1:9',
      '--cache', join(dir, 'cache'), '--data-dir', join(dir, 'data'), '--receive-dir', join(dir, 'received')
    ])
    try {
      // a daemon compiled by tsx on a loaded machine can take a while to start (Daemon.line waits up to 60 s)
      const url = (await bridge.line(/Local API at (http:\/\/\S+)/))[1]!.replace('localhost', '127.0.0.1')
      bridge.rejectUnhandled()
      await bridge.line(/❌ Unhandled rejection, the daemon goes on: Error: pipbingo test: a rejection nobody handles/)
      await bridge.line(/at .*reject-on-sigusr2\.mjs/)
      expect(await (await fetch(`${url}/health`)).text()).toBe('OK')
      expect(bridge.exitCode()).toBeNull()
    } finally {
      await bridge.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }, 90_000)
})
