#!/usr/bin/env node
// `npx pipbingo …`, a global install, node_modules/.bin/pipbingo: the CLI as built by tools/build.mjs
// (dist/node/cli.js), built first if the sources changed since (quietly when nothing did: the CLI's
// output is its own). main() is called explicitly: how this file was reached (a symlink in .bin,
// npx's cache) says nothing about which module is the entry.
import { ensureBuilt } from '../../tools/build.mjs'

await ensureBuilt('node', { quiet: true })
const { main } = await import('../../dist/node/cli.js')
main()
