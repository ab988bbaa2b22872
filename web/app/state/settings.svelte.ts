import { DEFAULT_BRIDGE_URL, parseSettings, type SettingsData } from './settings-data'

export { DEFAULT_BRIDGE_URL }

/**
 * What a person chose for this profile (one per tab: `localStorage`
 * `pipbingo:<profile>:settings`). A stored value that no longer parses
 * falls back to the defaults, field by field.
 */
export class Settings {
  displayName = $state('')
  uploadLimitKBps = $state<number | null>(null)
  p2p = $state(true)
  cacheCapMB = $state(2000)
  bridgeUrl = $state(DEFAULT_BRIDGE_URL)
  overlay = $state(true)

  constructor (readonly profile: string, private readonly storage: Storage = localStorage) {
    Object.assign(this, parseSettings(storage.getItem(this.key)))
  }

  private get key (): string {
    return `pipbingo:${this.profile}:settings`
  }

  /** Bytes per second for the upload limiter (Infinity: no limit). */
  get uploadLimit (): number {
    return this.uploadLimitKBps == null ? Infinity : this.uploadLimitKBps * 1000
  }

  get cacheCapBytes (): number {
    return this.cacheCapMB * 1e6
  }

  save (): void {
    const data: SettingsData = {
      displayName: this.displayName,
      uploadLimitKBps: this.uploadLimitKBps,
      p2p: this.p2p,
      cacheCapMB: this.cacheCapMB,
      bridgeUrl: this.bridgeUrl,
      overlay: this.overlay
    }
    this.storage.setItem(this.key, JSON.stringify(data))
  }
}
