import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { describeEvent } from '../../node-bridge/cli/chat'
import { runCli } from '../../node-bridge/cli/main'
import { parseBridgeConfig } from '../../node-bridge/config'
import { parseRelayConfig } from '../../relay/config'
import { formatBytes, formatSpeed, langFromArgs, langFromEnv, messages } from '../../node-bridge/messages'

/** runCli with captured output. */
async function cli (argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(argv, { out: { write: t => { out += t }, isTTY: false }, err: { write: t => { err += t } }, env })
  return { code, out, err }
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

describe('one message catalogue: English by default, French on request', () => {
  it('takes the language from PIPBINGO_LANG, then LC_ALL, LC_MESSAGES, LANG, as POSIX orders them', () => {
    expect(langFromEnv({})).toBe('en')
    expect(langFromEnv({ LANG: 'fr_FR.UTF-8' })).toBe('fr')
    expect(langFromEnv({ LANG: 'fr_FR.UTF-8', LC_ALL: 'C.UTF-8' })).toBe('en')
    expect(langFromEnv({ LANG: 'en_GB.UTF-8', LC_MESSAGES: 'fr_CA' })).toBe('fr')
    expect(langFromEnv({ LANG: 'fr_FR', PIPBINGO_LANG: 'en' })).toBe('en')
    expect(langFromEnv({ LANG: 'fr' })).toBe('fr')
    // a language that merely starts with the letters is not French
    expect(langFromEnv({ LANG: 'fry_NL' })).toBe('en')
  })

  it('the bridge\'s --lang flag wins over the environment, and a bad value is a clear error', () => {
    const base = ['--relay-http', 'http://127.0.0.1:8080']
    expect(parseBridgeConfig(base, {}).lang).toBe('en')
    expect(parseBridgeConfig(base, { LANG: 'fr_FR.UTF-8' }).lang).toBe('fr')
    expect(parseBridgeConfig([...base, '--lang', 'en'], { LANG: 'fr_FR.UTF-8' }).lang).toBe('en')
    expect(() => parseBridgeConfig([...base, '--lang', 'de'], {})).toThrow(/lang/)
    // the relay's console too
    expect(parseRelayConfig([], {}).lang).toBe('en')
    expect(parseRelayConfig([], { LC_ALL: 'fr_FR.UTF-8' }).lang).toBe('fr')
    expect(parseRelayConfig(['--lang', 'en'], { LANG: 'fr_FR.UTF-8' }).lang).toBe('en')
    expect(() => parseRelayConfig(['--lang', 'de'], {})).toThrow(/lang/)
  })

  it('one unit convention in both languages: decimal multiples, French symbols in French', () => {
    expect(formatBytes(999)).toBe('999 B')
    expect(formatBytes(36_900_000)).toBe('36.9 MB')
    expect(formatBytes(36_900_000, 'fr')).toBe('36.9 Mo')
    expect(formatBytes(1_500_000_000, 'fr')).toBe('1.5 Go')
    expect(formatBytes(250_000)).toBe('250 kB')
    // the contract's KB/s (1 KB = 1024 B), as a person reads a speed
    expect(formatSpeed(1200.15)).toBe('1.2 MB/s')
    expect(formatSpeed(1200.15, 'fr')).toBe('1.2 Mo/s')
  })

  it('both languages have every message, and the seed\'s French lines are word for word', () => {
    const en = messages('en')
    const fr = messages('fr')
    expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort())
    expect(fr.restStarted).toBe('Téléchargement démarré')
    expect(en.restStarted).toBe('Download started')
    expect(fr.downloadStarting('video_1234567890.mp4')).toBe('📥 Début du téléchargement P2P: video_1234567890.mp4')
    expect(fr.apiAt('http://localhost:9090')).toBe('🌐 API locale démarrée sur http://localhost:9090')
    expect(en.restCached('b.mp4')).toBe('Already in the cache (as b.mp4): not downloaded again')
    expect(Object.keys(fr.cli).sort()).toEqual(Object.keys(en.cli).sort())
    expect(Object.keys(fr.relay).sort()).toEqual(Object.keys(en.relay).sort())
  })

  it('the CLI\'s usage and errors follow --lang, or the locale when --lang is absent or not valid yet', async () => {
    expect(langFromArgs(['ls', '--lang', 'fr'], {})).toBe('fr')
    expect(langFromArgs(['ls', '--lang=fr'], {})).toBe('fr')
    expect(langFromArgs(['ls', '--lang', 'de'], { LANG: 'fr_FR.UTF-8' })).toBe('fr')
    expect(langFromArgs(['ls'], {})).toBe('en')

    expect((await cli(['--help'])).out).toContain('Usage: pipbingo <command> [options]')
    expect((await cli(['--help', '--lang', 'fr'])).out).toContain('Usage : pipbingo <commande> [options]')
    const unknown = await cli(['dance'], { LANG: 'fr_FR.UTF-8' })
    expect(unknown.code).toBe(2)
    expect(unknown.err).toContain('Commande inconnue « dance »')
    expect((await cli(['download', '--lang', 'fr'])).err).toContain('❌ Quel fichier ? pipbingo download <fichier> (voir : pipbingo ls)')
    const bad = await cli(['ls', '--lang', 'de'])
    expect(bad.code).toBe(2)
    expect(bad.err).toBe('--lang: expected one of en, fr, not "de"\n')

    const port = await closedPort()
    const down = await cli(['ls', '--api', `http://127.0.0.1:${port}`, '--lang', 'fr'])
    expect(down.code).toBe(1)
    expect(down.err).toContain(`❌ Le daemon ne répond pas sur http://127.0.0.1:${port} (ECONNREFUSED). Démarrez-le avec : npm run bridge`)
    const chatDown = await cli(['chat', 'peers', '--ipc', `127.0.0.1:${port}`], { LC_ALL: 'fr_FR.UTF-8' })
    expect(chatDown.err).toContain(`❌ L'IPC du daemon ne répond pas sur 127.0.0.1:${port} (ECONNREFUSED)`)
    expect((await cli(['chat', '--help', '--lang', 'fr'])).out).toContain('Usage : pipbingo chat <commande> [options]')
    // a command short of its arguments is told so before the IPC is dialled (nothing listens on this port)
    const short = await cli(['chat', 'send', 'Bob', '--lang', 'fr', '--ipc', `127.0.0.1:${port}`])
    expect(short).toEqual({ code: 2, out: '', err: '❌ Usage : pipbingo chat send <pair> <message…>\n' })
    expect((await cli(['chat', 'keys', '--ipc', `127.0.0.1:${port}`])).err).toBe('❌ Usage: pipbingo chat keys <peer>\n')
  })

  it('the chat\'s event lines in both languages, sizes in each one\'s units', () => {
    const timestamp = '2026-12-06T10:11:12.000Z'
    const received = { event: 'file_received', data: { timestamp, peer: 'Alice', file_name: 'notes.txt', size: 2_500_000, path: '/tmp/in/notes.txt', encrypted: true } }
    expect(describeEvent(received)).toBe('[10:11:12] 📎 Alice sent notes.txt (2.5 MB): saved as /tmp/in/notes.txt 🔒')
    expect(describeEvent(received, 'fr')).toBe('[10:11:12] 📎 Alice a envoyé notes.txt (2.5 Mo) : enregistré sous /tmp/in/notes.txt 🔒')
    const keys = { event: 'keys_negotiated', data: { timestamp, peer: 'Bob', fingerprint: '0123456789abcdef' } }
    expect(describeEvent(keys)).toBe('[10:11:12] 🔑 keys negotiated with Bob (fingerprint 0123456789abcdef)')
    expect(describeEvent(keys, 'fr')).toBe('[10:11:12] 🔑 clés négociées avec Bob (empreinte 0123456789abcdef)')
    expect(describeEvent({ event: 'peer_joined', data: { timestamp, peer: 'Bob' } }, 'fr')).toBe('[10:11:12] → Bob est arrivé')
  })
})
