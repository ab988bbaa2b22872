import { execFile } from 'node:child_process'
import { mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../node-bridge/cli/main'
import { ApiClient } from '../../../node-bridge/cli/client'
import { follow } from '../../../node-bridge/cli/follow'
import { ProgressView } from '../../../node-bridge/cli/progress'
import { makeContent, type TestContent } from '../../helpers/content'
import { startRelay, type TestRelay } from '../../helpers/relay'
import { startBridge, type TestBridge } from '../../helpers/bridge'
import { OriginGate } from '../origin-gate'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

function capture (isTTY = false): { write(t: string): void, isTTY: boolean, columns: number, text(): string } {
  let text = ''
  return { write: t => { text += t }, isTTY, columns: 120, text: () => text }
}

describe('the pipbingo CLI against a real daemon', () => {
  let a: TestContent
  let b: TestContent
  let relay: TestRelay
  let gate: OriginGate
  let bridge: TestBridge

  beforeAll(async () => {
    a = await makeContent(6 * 256 * 1024 + 1, { seed: 201, name: 'video_cli_a.mp4' })
    b = await makeContent(4 * 256 * 1024 + 2, { seed: 202, name: 'video_cli_b.mp4' })
    relay = await startRelay([{ name: 'video_cli_a.mp4', bytes: a.bytes }, { name: 'video_cli_b.mp4', bytes: b.bytes }])
    gate = await OriginGate.start(relay)
    gate.open(a.contentId)
    bridge = await startBridge(relay, { relayHttp: gate.url })
  })
  afterAll(async () => {
    await bridge?.close()
    await gate?.close()
    await relay?.close()
  })

  const run = async (args: string[], isTTY = false): Promise<{ code: number, out: string, err: string }> => {
    const out = capture(isTTY)
    const err = capture()
    const code = await runCli([...args, '--api', bridge.url], { out, err, env: {} })
    return { code, out: out.text(), err: err.text() }
  }

  it('download: asks the daemon, draws the progress until seeding (plain lines when not a terminal)', async () => {
    const { code, out } = await run(['download', 'video_cli_a.mp4'])
    expect(code).toBe(0)
    const lines = out.trim().split('\n')
    expect(lines[0]).toBe('video_cli_a.mp4: started — Download started')
    expect(out).not.toContain('\x1b[')
    expect(lines.some(l => /^video_cli_a\.mp4 +\[█+\] +100\.0% .*seeding$/.test(l))).toBe(true)
    expect(lines.at(-1)).toBe('🌱 video_cli_a.mp4: in the cache, seeding')
    expect(bridge.bridge.manager.get('video_cli_a.mp4')!.state).toBe('seeding')
  })

  it('status, stats, ls', async () => {
    const st = await run(['status'])
    expect(st.code).toBe(0)
    expect(st.out).toMatch(/video cli a \(video_cli_a\.mp4\) +seeding +100\.0%/)
    const stats = await run(['stats'])
    expect(stats.out).toContain(bridge.bridge.node.peerId.toString())
    expect(stats.out).toMatch(/^files +1 in the cache, 1 seeding, 0 downloading, 0 queued$/m)
    expect(stats.out).toMatch(/^from the origin +\d+(\.\d)? [kM]?B \(of which HTTP \d+(\.\d)? [kM]?B\)$/m)
    // the French locale: the seed's words, the same decimal units with French symbols
    const fr = await run(['stats', '--lang', 'fr'])
    expect(fr.out).toMatch(/^fichiers +1 dans le cache, 1 en seeding, 0 en cours, 0 en attente$/m)
    expect(fr.out).toMatch(/^reçu de l'origine +\d+(\.\d)? [kM]?o \(dont HTTP \d+(\.\d)? [kM]?o\)$/m)
    expect((await run(['status', '--lang', 'de'])).code).toBe(2)
    const ls = await run(['ls'])
    expect(ls.out).toMatch(/^ +file +size +title$/m)
    expect(ls.out).toMatch(/● +video_cli_a\.mp4/)
    expect(ls.out).toMatch(/\n {3}video_cli_b\.mp4/)
    const json = await run(['stats', '--json'])
    expect(JSON.parse(json.out)).toMatchObject({ seeding_files: 1, cache_files: 1 })
  })

  it('a bad name or an unknown file: the daemon\'s error on one line, exit code 1', async () => {
    const unknown = await run(['download', 'nope.mp4'])
    expect(unknown.code).toBe(1)
    expect(unknown.err).toMatch(/^❌ 404: /)
    const hostile = await run(['download', '../../etc/passwd'])
    expect(hostile.code).toBe(1)
    expect(hostile.err).toMatch(/^❌ 400: Invalid filename/)
    const usage = await run(['frobnicate'])
    expect(usage.code).toBe(2)
    const down = await runCli(['stats', '--api', 'http://127.0.0.1:9'], { out: capture(), err: capture(), env: {} })
    expect(down).toBe(1)
  })

  it('on a terminal the bars are redrawn in place; without /events it polls /status', async () => {
    const client = new ApiClient(bridge.url, async (input, init) => {
      if (String(input).endsWith('/events')) return new Response(JSON.stringify({ error: 'no events here' }), { status: 404 })
      return await fetch(input, init)
    })
    await client.download('video_cli_b.mp4')
    const out = capture(true)
    const following = follow(client, new ProgressView(out), { names: ['video_cli_b.mp4'], pollMs: 20 })
    gate.open(b.contentId)
    const last = await following
    expect(last['video_cli_b.mp4']?.status).toBe('seeding')
    expect(out.text()).toContain('\r\x1b[2K')
    expect(out.text()).toMatch(/video_cli_b\.mp4 +\[█+\] +100\.0%/)
  })

  it('the bin runs however it is started: the file, a symlink to it (node_modules/.bin, a global install), npx', async () => {
    const run = promisify(execFile)
    const direct = await run(process.execPath, ['node-bridge/cli/pipbingo.mjs', 'stats', '--json', '--api', bridge.url], { cwd: ROOT })
    expect(JSON.parse(direct.stdout).peer_id).toBe(bridge.bridge.node.peerId.toString())
    // a symlink named as npm names it: the entry check of the old code saw `.bin/pipbingo` and printed nothing
    const bin = await mkdtemp(join(tmpdir(), 'pipbingo-bin-'))
    try {
      await symlink(join(ROOT, 'node-bridge', 'cli', 'pipbingo.mjs'), join(bin, 'pipbingo'))
      const linked = await run(process.execPath, [join(bin, 'pipbingo'), '--help'], { cwd: ROOT })
      expect(linked.stdout).toMatch(/^Usage: pipbingo <command>/)
    } finally {
      await rm(bin, { recursive: true, force: true })
    }
    // npx, from the repository, as the README says (npm resolves the project's own bin)
    const npx = await run('npx', ['--no-install', 'pipbingo', 'ls', '--api', bridge.url], { cwd: ROOT, env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` } })
    expect(npx.stdout).toContain('video_cli')
  }, 60_000)
})
