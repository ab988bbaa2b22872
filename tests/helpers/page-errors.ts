import { afterEach } from 'vitest'
import { takeUncaughtPageErrors } from './chromium'

/**
 * vitest setup (vitest.config.ts): a test during which any Chromium page
 * threw an uncaught error fails, whatever it asserted itself.
 */
afterEach(() => {
  const errors = takeUncaughtPageErrors()
  if (errors.length > 0) throw new Error(`${errors.length} uncaught page error(s):\n${errors.join('\n')}`)
})
