import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The web app (web/) is built into dist/web and served by the relay at `/`.
export default defineConfig({
  root: 'web',
  publicDir: fileURLToPath(new URL('./public', import.meta.url)),
  resolve: {
    alias: { '@core': fileURLToPath(new URL('./web/core', import.meta.url)) }
  },
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true
  }
})
