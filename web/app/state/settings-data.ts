import * as z from 'zod/mini'

/**
 * A profile's settings as stored (`localStorage` `pipbingo:<profile>:settings`),
 * parsed field by field. Sizes and speeds are in the units the whole app
 * shows, decimal: MB = 10⁶ bytes, kB/s = 1000 bytes a second.
 */

export const DEFAULT_BRIDGE_URL = 'http://127.0.0.1:9090'

export const settingsSchema = z.object({
  displayName: z._default(z.string().check(z.maxLength(40)), ''),
  /** kB/s (1000 bytes a second); null: no limit. */
  uploadLimitKBps: z._default(z.nullable(z.number().check(z.minimum(1))), null),
  p2p: z._default(z.boolean(), true),
  /** MB (10⁶ bytes). */
  cacheCapMB: z._default(z.number().check(z.minimum(64)), 2000),
  bridgeUrl: z._default(z.string(), DEFAULT_BRIDGE_URL),
  overlay: z._default(z.boolean(), true)
})
export type SettingsData = z.infer<typeof settingsSchema>

/** What a stored value gives; one that no longer parses falls back to the default, field by field. */
export function parseSettings (text: string | null): SettingsData {
  let raw: unknown = {}
  try {
    raw = JSON.parse(text ?? '{}')
  } catch {}
  const fields = { ...(typeof raw === 'object' && raw != null && !Array.isArray(raw) ? raw : {}) } as Record<string, unknown>
  migrateBinaryUnits(fields)
  const parsed = z.safeParse(settingsSchema, fields)
  if (parsed.success) return parsed.data
  const out = z.parse(settingsSchema, {})
  for (const [name, value] of Object.entries(fields)) {
    const one = z.safeParse(settingsSchema, { ...out, [name]: value })
    if (one.success) Object.assign(out, one.data)
  }
  return out
}

/**
 * Settings saved before the app showed one unit convention were in KiB/s
 * and MiB (`uploadLimitKiBps`, `cacheCapMiB`): the same amounts, in the
 * decimal units, rounded.
 */
function migrateBinaryUnits (fields: Record<string, unknown>): void {
  if (!('uploadLimitKBps' in fields) && 'uploadLimitKiBps' in fields) {
    const v = fields.uploadLimitKiBps
    fields.uploadLimitKBps = typeof v === 'number' ? Math.max(1, Math.round(v * 1.024)) : v
  }
  if (!('cacheCapMB' in fields) && 'cacheCapMiB' in fields) {
    const v = fields.cacheCapMiB
    fields.cacheCapMB = typeof v === 'number' ? Math.round(v * 1.048576) : v
  }
  delete fields.uploadLimitKiBps
  delete fields.cacheCapMiB
}
