import * as z from 'zod/mini'

export const DEFAULT_BRIDGE_URL = 'http://127.0.0.1:9090'
const MiB = 1024 * 1024

const settingsSchema = z.object({
  displayName: z._default(z.string().check(z.maxLength(40)), ''),
  /** KiB/s; null: no limit. */
  uploadLimitKiBps: z._default(z.nullable(z.number().check(z.minimum(1))), null),
  p2p: z._default(z.boolean(), true),
  cacheCapMiB: z._default(z.number().check(z.minimum(64)), 2048),
  bridgeUrl: z._default(z.string(), DEFAULT_BRIDGE_URL),
  overlay: z._default(z.boolean(), true)
})
export type SettingsData = z.infer<typeof settingsSchema>

/**
 * What a person chose for this profile (one per tab: `localStorage`
 * `pipbingo:<profile>:settings`). A stored value that no longer parses
 * falls back to the defaults, field by field.
 */
export class Settings {
  displayName = $state('')
  uploadLimitKiBps = $state<number | null>(null)
  p2p = $state(true)
  cacheCapMiB = $state(2048)
  bridgeUrl = $state(DEFAULT_BRIDGE_URL)
  overlay = $state(true)

  constructor (readonly profile: string, private readonly storage: Storage = localStorage) {
    Object.assign(this, load(this.key, storage))
  }

  private get key (): string {
    return `pipbingo:${this.profile}:settings`
  }

  /** Bytes per second for the upload limiter (Infinity: no limit). */
  get uploadLimit (): number {
    return this.uploadLimitKiBps == null ? Infinity : this.uploadLimitKiBps * 1024
  }

  get cacheCapBytes (): number {
    return this.cacheCapMiB * MiB
  }

  save (): void {
    const data: SettingsData = {
      displayName: this.displayName,
      uploadLimitKiBps: this.uploadLimitKiBps,
      p2p: this.p2p,
      cacheCapMiB: this.cacheCapMiB,
      bridgeUrl: this.bridgeUrl,
      overlay: this.overlay
    }
    this.storage.setItem(this.key, JSON.stringify(data))
  }
}

function load (key: string, storage: Storage): SettingsData {
  let raw: unknown = {}
  try {
    raw = JSON.parse(storage.getItem(key) ?? '{}')
  } catch {}
  const parsed = z.safeParse(settingsSchema, raw)
  if (parsed.success) return parsed.data
  // keep what still parses, field by field
  const fields = (typeof raw === 'object' && raw != null ? raw : {}) as Record<string, unknown>
  const out = z.parse(settingsSchema, {})
  for (const [name, value] of Object.entries(fields)) {
    const one = z.safeParse(settingsSchema, { ...out, [name]: value })
    if (one.success) Object.assign(out, one.data)
  }
  return out
}
