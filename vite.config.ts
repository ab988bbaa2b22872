import { fileURLToPath } from 'node:url'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'

const path = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url))

// The web app (web/) is built into dist/web and served by the relay at `/`.
// Two entries: the page, and the service worker, emitted unhashed at the
// site root as `/sw.js` (an ES module: register it with `{ type: 'module' }`)
// so that its scope is `/` and its URL never changes between builds.
export default defineConfig({
  root: 'web',
  // Svelte 5 with runes only: no legacy component syntax anywhere in the app
  plugins: [svelte({ compilerOptions: { runes: true } })],
  publicDir: path('./public'),
  resolve: {
    alias: { '@core': path('./web/core') }
  },
  build: {
    outDir: path('./dist/web'),
    emptyOutDir: true,
    // libp2p with WebRTC, noise and yamux is most of the page: one ~700 kB chunk, loaded once
    chunkSizeWarningLimit: 1500,
    rolldownOptions: {
      input: {
        index: path('./web/index.html'),
        sw: path('./web/sw/sw.ts')
      },
      output: {
        entryFileNames: chunk => chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js'
      }
    }
  }
})
