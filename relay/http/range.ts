/**
 * The relay answers ranges with the core's decision, the same one the
 * browser's service worker uses for `/stream/…`: one implementation.
 */
export { decideRange, type RangeDecision } from '@core/http/range'
