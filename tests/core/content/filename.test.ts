import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkFilename, filenameKey, isValidFilename, normalizeFilename } from '@core/content/filename'

describe('filename rules', () => {
  it.each(['video_1234567890.mp4', 'My holiday (2024).mkv', 'été à Paris.webm', 'a', 'x'.repeat(200), '100%.mp4', 'a.b.c'])('accepts %j', (name) => {
    expect(checkFilename(name)).toBe(name)
  })

  it.each([
    '', '.', '..', '../x', 'a/b', 'a\\b', '/etc/passwd', 'C:\\x', 'a\u0000b', 'a\nb', 'a\tb', '\u007f', '\u0085x',
    '.hidden', '.pipbingo', ' lead', 'trail ', 'x'.repeat(201), 'a..b', '..%2f', 'x\u2028y'
  ])('refuses %j', (name) => {
    expect(() => checkFilename(name)).toThrow(expect.objectContaining({ name: 'InvalidFilenameError' }))
    expect(isValidFilename(name)).toBe(false)
  })

  it.each([
    ['a right-to-left override', 'clip\u202Eexe.mp4'],
    ['a left-to-right embedding', '\u202Aclip.mp4'],
    ['a right-to-left isolate', 'clip\u2067.mp4'],
    ['a pop directional isolate', 'clip\u2069.mp4'],
    ['a right-to-left mark', 'clip\u200F.mp4'],
    ['an Arabic letter mark', 'clip\u061C.mp4']
  ])('refuses %s, saying why', (_what, name) => {
    expect(() => checkFilename(name)).toThrow(/bidirectional control character/)
  })

  it('normalizeFilename gives the NFC form (then checks it); filenameKey also folds case', () => {
    const decomposed = 'e\u0301te\u0301.webm'
    expect(normalizeFilename(decomposed)).toBe('\u00e9t\u00e9.webm')
    expect(filenameKey(decomposed)).toBe(filenameKey('\u00c9T\u00c9.WEBM'))
    expect(() => normalizeFilename('a\u202Eb.mp4')).toThrow(expect.objectContaining({ name: 'InvalidFilenameError' }))
    expect(() => normalizeFilename(7)).toThrow(expect.objectContaining({ name: 'InvalidFilenameError' }))
  })

  it('refuses non-strings', () => {
    for (const v of [undefined, null, 1, {}, ['a']]) expect(() => checkFilename(v)).toThrow(expect.objectContaining({ name: 'InvalidFilenameError' }))
  })

  it('never accepts a name that could leave a folder (fuzz)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60, unit: 'binary' }), (name) => {
      if (isValidFilename(name)) {
        expect(name).not.toMatch(/[/\\\u0000]/)
        expect(name.includes('..')).toBe(false)
        expect(name.startsWith('.')).toBe(false)
      }
    }), { numRuns: 5000 })
  })
})
