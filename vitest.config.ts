import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    alias: { '@core': fileURLToPath(new URL('./web/core', import.meta.url)) }
  },
  test: {
    include: ['tests/**/*.test.ts'],
    // a test fails on any uncaught error of a Chromium page it drove
    setupFiles: ['tests/helpers/page-errors.ts'],
    exclude: ['tests/bench/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // integration tests start real libp2p nodes on loopback; two cores
    pool: 'forks',
    maxWorkers: 2,
    // the bridges and CLIs the tests start speak English, whatever this machine's locale (the French is tested with --lang fr)
    env: { PIPBINGO_LANG: 'en' }
  }
})
