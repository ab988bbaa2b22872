import { describe } from 'vitest'
import { whyNoNamespaces } from './netns'

/**
 * `describe`, or `describe.skip` with the reason on the console when
 * network namespaces cannot be made here (whyNoNamespaces).
 */
export async function describeWithNamespaces (): Promise<ReturnType<typeof describe.skipIf>> {
  const why = await whyNoNamespaces()
  if (why != null) console.warn(`skipped: these browsers talk WebRTC to each other in network namespaces, which cannot be made here: ${why}`)
  return describe.skipIf(why != null)
}
