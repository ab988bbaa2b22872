import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRelayConfig, RELAY_USAGE, TURN_TTL_DEFAULT_SECONDS } from '../../relay/config'

const SECRET = 'north-wind-7d1c2b9e4f0a'
let dir: string

beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'pipbingo-ice-config-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('relay configuration: ICE servers', () => {
  it('none by default; credentials live 6 h', () => {
    const c = parseRelayConfig([], {})
    expect(c).toMatchObject({ stun: [], turn: [], turnTtlSeconds: 6 * 3600 })
    expect(c.turnSecret).toBeUndefined()
    expect(TURN_TTL_DEFAULT_SECONDS).toBe(21_600)
  })

  it('--stun and --turn repeat; the environment takes ,-separated lists; the secret comes from PIPBINGO_TURN_SECRET', () => {
    const c = parseRelayConfig(['--stun', 'stun:turn.example.org:3478', '--stun', 'stuns:[2001:db8::1]:5349',
      '--turn', 'turn:turn.example.org:3478?transport=udp', '--turn', 'turns:turn.example.org:5349?transport=tcp', '--turn', 'turn:198.51.100.10',
      '--turn-ttl', '600'], { PIPBINGO_TURN_SECRET: SECRET })
    expect(c).toMatchObject({
      stun: ['stun:turn.example.org:3478', 'stuns:[2001:db8::1]:5349'],
      turn: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349?transport=tcp', 'turn:198.51.100.10'],
      turnSecret: SECRET,
      turnTtlSeconds: 600
    })
    expect(parseRelayConfig([], { PIPBINGO_STUN: 'stun:a.example:3478, stun:b.example', PIPBINGO_TURN: 'turn:a.example:3478', PIPBINGO_TURN_SECRET: SECRET, PIPBINGO_TURN_TTL: '120' }))
      .toMatchObject({ stun: ['stun:a.example:3478', 'stun:b.example'], turn: ['turn:a.example:3478'], turnTtlSeconds: 120 })
  })

  it('--turn-secret-file: the file\'s one line, its newline left out', async () => {
    const file = join(dir, 'secret')
    await writeFile(file, `${SECRET}\n`, { mode: 0o600 })
    expect(parseRelayConfig(['--turn', 'turn:turn.example.org', '--turn-secret-file', file], {}).turnSecret).toBe(SECRET)
    expect(parseRelayConfig(['--turn', 'turn:turn.example.org'], { PIPBINGO_TURN_SECRET_FILE: file }).turnSecret).toBe(SECRET)
  })

  it('the secret is never a flag\'s value', () => {
    expect(() => parseRelayConfig(['--turn-secret', SECRET], {})).toThrow(/Unknown option '--turn-secret'/)
  })

  it('TURN without a secret is refused, saying where the secret goes', () => {
    expect(() => parseRelayConfig(['--turn', 'turn:turn.example.org:3478'], {}))
      .toThrow(/Invalid relay configuration: turnSecret: TURN servers need the shared secret .*PIPBINGO_TURN_SECRET or --turn-secret-file/)
    // STUN needs none
    expect(parseRelayConfig(['--stun', 'stun:turn.example.org'], {}).stun).toEqual(['stun:turn.example.org'])
  })

  it.each([
    [['--stun', 'turn:turn.example.org:3478'], /"turn:turn.example.org:3478" is not a STUN URL: expected stun:host:port/],
    [['--stun', 'stun://turn.example.org:3478'], /is not a STUN URL/],
    [['--stun', 'stun:turn.example.org:3478?transport=udp'], /is not a STUN URL/],
    [['--stun', 'stun:turn.example.org:0'], /is not a STUN URL/],
    [['--stun', 'stun:turn.example.org:70000'], /is not a STUN URL/],
    [['--stun', 'turn.example.org'], /is not a STUN URL/],
    [['--turn', 'stun:turn.example.org'], /"stun:turn.example.org" is not a TURN URL: expected turn:host:port or turns:host:port/],
    [['--turn', 'turn:turn.example.org:3478?transport=sctp'], /is not a TURN URL/],
    [['--turn', 'turn:user:pass@turn.example.org'], /is not a TURN URL/],
    [['--turn', 'turn:'], /is not a TURN URL/],
    [['--turn-ttl', '30'], /turnTtlSeconds/],
    [['--turn-ttl', '1.5'], /turnTtlSeconds/],
    [['--turn-ttl', 'six hours'], /turnTtlSeconds/]
  ])('refuses %j with a readable error', (argv, message) => {
    expect(() => parseRelayConfig(argv, { PIPBINGO_TURN_SECRET: SECRET })).toThrow(message)
  })

  it('a short secret is refused without being repeated', () => {
    const attempt = (): unknown => parseRelayConfig(['--turn', 'turn:turn.example.org'], { PIPBINGO_TURN_SECRET: 'hunter2' })
    expect(attempt).toThrow(/turnSecret: the TURN secret must have 16 characters at least/)
    expect(attempt).not.toThrow(/hunter2/)
  })

  it('a secret file that is missing, empty or of several lines is refused; the secret given twice too', async () => {
    expect(() => parseRelayConfig(['--turn-secret-file', join(dir, 'nope')], {})).toThrow(/--turn-secret-file .*nope: cannot read it \(ENOENT\)/)
    await writeFile(join(dir, 'empty'), '\n')
    expect(() => parseRelayConfig(['--turn-secret-file', join(dir, 'empty')], {})).toThrow(/--turn-secret-file .*empty is empty/)
    await writeFile(join(dir, 'two'), `${SECRET}\nsecond line\n`)
    expect(() => parseRelayConfig(['--turn-secret-file', join(dir, 'two')], {})).toThrow(/holds more than one line/)
    await writeFile(join(dir, 'ok'), SECRET)
    expect(() => parseRelayConfig(['--turn-secret-file', join(dir, 'ok')], { PIPBINGO_TURN_SECRET: SECRET })).toThrow(/the TURN secret is given twice/)
  })

  it('--help lists the flags, and names the secret\'s variable, saying it is not a flag', () => {
    expect(RELAY_USAGE).toMatch(/--stun\s+PIPBINGO_STUN\s+\S.*repeatable/)
    expect(RELAY_USAGE).toMatch(/--turn\s+PIPBINGO_TURN\s+\S.*repeatable/)
    expect(RELAY_USAGE).toMatch(/--turn-secret-file\s+PIPBINGO_TURN_SECRET_FILE\s+\S.*PIPBINGO_TURN_SECRET, never a flag/)
    expect(RELAY_USAGE).toMatch(/--turn-ttl\s+PIPBINGO_TURN_TTL\s+\S.*6 h/)
  })
})
