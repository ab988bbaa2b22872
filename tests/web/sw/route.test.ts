import { describe, expect, it } from 'vitest'
import { isStreamPath, parseStreamPath } from '../../../web/sw/route'

const id = '0123456789abcdef'.repeat(4)

describe('parseStreamPath', () => {
  it.each([
    [`/stream/p0/${id}`, { profile: 'p0', contentId: id }],
    [`/stream/p999/${id}`, { profile: 'p999', contentId: id }]
  ])('%s → %j', (path, expected) => {
    expect(parseStreamPath(path)).toEqual(expected)
  })

  it.each([
    [`/stream/x0/${id}`, 'InvalidStreamPathError'],
    [`/stream/p/${id}`, 'InvalidStreamPathError'],
    [`/stream/p1000/${id}`, 'InvalidStreamPathError'],
    [`/stream/P0/${id}`, 'InvalidStreamPathError'],
    [`/stream/p0/${id.toUpperCase()}`, 'InvalidStreamPathError'],
    [`/stream/p0/${id}0`, 'InvalidStreamPathError'],
    ['/stream/p0/..', 'InvalidStreamPathError'],
    ['/stream/p0', 'StreamNotFoundError'],
    ['/stream/', 'StreamNotFoundError'],
    ['/stream', 'StreamNotFoundError'],
    [`/stream//${id}`, 'StreamNotFoundError'],
    [`/stream/p0/${id}/`, 'StreamNotFoundError'],
    [`/stream/p0/${id}/x`, 'StreamNotFoundError']
  ])('%s → %s', (path, name) => {
    expect(() => parseStreamPath(path)).toThrow(expect.objectContaining({ name }))
  })

  it('isStreamPath: /stream and below only', () => {
    expect(['/stream', '/stream/', '/stream/p0/x'].map(isStreamPath)).toEqual([true, true, true])
    expect(['/', '/streams', '/videos/stream', '/assets/stream.js'].map(isStreamPath)).toEqual([false, false, false, false])
  })
})
