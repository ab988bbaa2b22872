#!/usr/bin/env node
// `npx pipbingo …`: the CLI's TypeScript, run through tsx (as `npm run bridge` runs the daemon).
import { register } from 'tsx/esm/api'

register()
await import('./main.ts')
