import { describe, expect, it } from 'vitest'
import { DEFAULT_BRIDGE_URL, parseSettings } from '../../../web/app/state/settings-data'

describe('settings as stored: decimal units, field by field', () => {
  it('defaults to no upload limit and a 2 GB cache', () => {
    expect(parseSettings(null)).toEqual({ displayName: '', uploadLimitKBps: null, p2p: true, cacheCapMB: 2000, bridgeUrl: DEFAULT_BRIDGE_URL, overlay: true })
  })

  it('reads settings saved in KiB/s and MiB as the same amounts in kB/s and MB', () => {
    const s = parseSettings(JSON.stringify({ displayName: 'Ana', uploadLimitKiBps: 1024, cacheCapMiB: 2048, p2p: false }))
    expect(s).toMatchObject({ displayName: 'Ana', uploadLimitKBps: 1049, cacheCapMB: 2147, p2p: false })
    expect(s).not.toHaveProperty('cacheCapMiB')
    // a limit that was off stays off
    expect(parseSettings(JSON.stringify({ uploadLimitKiBps: null })).uploadLimitKBps).toBeNull()
    // the new fields win over old ones left beside them
    expect(parseSettings(JSON.stringify({ cacheCapMiB: 100, cacheCapMB: 500 })).cacheCapMB).toBe(500)
  })

  it('keeps what still parses and drops the rest', () => {
    expect(parseSettings('{not json')).toEqual(parseSettings(null))
    expect(parseSettings('[1,2]')).toEqual(parseSettings(null))
    const s = parseSettings(JSON.stringify({ displayName: 'B', cacheCapMB: 3, uploadLimitKBps: 'fast', cacheCapMiB: 'x' }))
    expect(s).toMatchObject({ displayName: 'B', cacheCapMB: 2000, uploadLimitKBps: null })
  })
})
