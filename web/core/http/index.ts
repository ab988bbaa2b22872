export { decideRange, type RangeDecision } from './range'
