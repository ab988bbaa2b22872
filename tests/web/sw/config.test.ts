import { describe, expect, it } from 'vitest'
import { SW_CHUNK_TIMEOUT_MS, SW_MAX_RESPONSE_BYTES } from '../../../web/peer/sw-protocol'
import { swConfig } from '../../../web/sw/config'

describe('swConfig (from the script URL)', () => {
  it('no parameter: the protocol\'s defaults', () => {
    expect(swConfig('')).toEqual({ chunkTimeoutMs: SW_CHUNK_TIMEOUT_MS, maxResponseBytes: SW_MAX_RESPONSE_BYTES })
  })
  it('parameters in bounds are taken', () => {
    expect(swConfig('?chunkTimeoutMs=1500&maxResponseBytes=524288')).toEqual({ chunkTimeoutMs: 1500, maxResponseBytes: 524288 })
  })
  it.each(['?chunkTimeoutMs=0', '?chunkTimeoutMs=-5', '?chunkTimeoutMs=1e3', '?chunkTimeoutMs=99999999', '?chunkTimeoutMs=abc', '?maxResponseBytes=1'])('%s is ignored', search => {
    expect(swConfig(search)).toEqual({ chunkTimeoutMs: SW_CHUNK_TIMEOUT_MS, maxResponseBytes: SW_MAX_RESPONSE_BYTES })
  })
})
