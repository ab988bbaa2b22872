#!/usr/bin/env node
// `npx pipbingo …`, a global install, node_modules/.bin/pipbingo: the CLI's TypeScript, run through tsx
// (as `npm run bridge` runs the daemon). main() is called explicitly: how this file was reached
// (a symlink in .bin, npx's cache) says nothing about which module is the entry.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('./main.ts')
main()
