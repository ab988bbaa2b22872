import { describe, expect, it } from 'vitest'
import { parseBridgeConfig } from '../../node-bridge/config'
import { formatBytes, formatSpeed, langFromEnv, messages } from '../../node-bridge/messages'

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
  })
})
