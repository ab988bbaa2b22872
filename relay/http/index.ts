export { createHttpApp, type HttpAppDeps } from './app'
export { decideRange, type RangeDecision } from './range'
export { UPLOAD_EXTENSIONS } from './upload'
export * from './errors'
