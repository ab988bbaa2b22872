import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import { loadCertificate, type CertificateFiles, type LoadedCertificate } from './certificate'

/** A renewal writes two files, maybe by rename: one reload once the folder has been quiet this long. */
export const RELOAD_DEBOUNCE_MS = 500

/** The reason a reload the watch started gives (`onReloaded`); a `reload()` gives its caller's. */
export const FILES_CHANGED = 'files changed'

export interface CertificateReloaderInit {
  /** A new pair is in use (every listener already switched to it). */
  onReloaded?(certificate: LoadedCertificate, reason: string): void
  /** A new pair could not be loaded (the old one keeps serving), or the files cannot be watched. */
  onWarning?(message: string): void
  debounceMs?: number
}

/**
 * The relay's certificate pair, kept current: `reload()` (SIGHUP) and a
 * change to either file (`watch()`: the folders holding them, so a file
 * replaced by a rename, or a certbot `live/` symlink pointed elsewhere, is
 * seen too) load the pair again and hand it to every `use` listener (the
 * HTTPS server's `setSecureContext`, the WSS listener). A pair that fails
 * to load (half-written, a key of another certificate) leaves the old one
 * serving and is reported to `onWarning`; a pair equal to the current one
 * changes nothing.
 */
export class CertificateReloader {
  private readonly users = new Set<(certificate: LoadedCertificate) => void>()
  private readonly watchers: FSWatcher[] = []
  private timer: ReturnType<typeof setTimeout> | undefined
  /** Reloads run one after the other. */
  private queue: Promise<void> = Promise.resolve()
  private closed = false

  private constructor (readonly files: CertificateFiles, private currentPair: LoadedCertificate, private readonly init: CertificateReloaderInit) {}

  /** Loads the pair (CertificateLoadError when it cannot be used: the relay does not start). */
  static async open (files: CertificateFiles, init: CertificateReloaderInit = {}): Promise<CertificateReloader> {
    return new CertificateReloader(files, await loadCertificate(files), init)
  }

  get current (): LoadedCertificate { return this.currentPair }

  /** Calls `user` with each new pair from now on; returns the function that stops it. */
  use (user: (certificate: LoadedCertificate) => void): () => void {
    this.users.add(user)
    return () => { this.users.delete(user) }
  }

  /** Loads the files again; resolves once the new pair is in use, or was refused (warned). */
  async reload (reason: string): Promise<void> {
    const next = this.queue.then(async () => { await this.load(reason) })
    this.queue = next
    await next
  }

  /** Watches the folders of both files; a change reloads once they have been quiet for `debounceMs`. */
  watch (): void {
    if (this.watchers.length > 0) return
    const names = new Set([this.files.certFile, this.files.keyFile].map(f => basename(f)))
    for (const dir of new Set([this.files.certFile, this.files.keyFile].map(f => dirname(resolve(f))))) {
      try {
        const watcher = watch(dir, (_event, filename) => {
          if (filename == null || names.has(filename.toString())) this.schedule()
        })
        watcher.on('error', err => { this.init.onWarning?.(`The TLS files in ${dir} are no longer watched (${err.message}): send SIGHUP after a renewal`) })
        this.watchers.push(watcher)
      } catch (err: any) {
        this.init.onWarning?.(`The TLS files in ${dir} cannot be watched (${err?.message ?? err}): send SIGHUP after a renewal`)
      }
    }
  }

  close (): void {
    this.closed = true
    clearTimeout(this.timer)
    for (const w of this.watchers.splice(0)) w.close()
    this.users.clear()
  }

  private schedule (): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.reload(FILES_CHANGED) }, this.init.debounceMs ?? RELOAD_DEBOUNCE_MS)
  }

  private async load (reason: string): Promise<void> {
    let pair: LoadedCertificate
    try {
      pair = await loadCertificate(this.files)
    } catch (err: any) {
      this.init.onWarning?.(`${err?.message ?? err}; still serving the certificate loaded before (${this.currentPair.fingerprint256})`)
      return
    }
    // a stopped relay has no listener left to give it to; an unchanged pair needs nothing
    if (this.closed || (pair.cert === this.currentPair.cert && pair.key === this.currentPair.key)) return
    for (const user of this.users) {
      try {
        user(pair)
      } catch (err: any) {
        this.init.onWarning?.(`The new TLS certificate could not be put in use: ${err?.message ?? err}`)
        return
      }
    }
    this.currentPair = pair
    this.init.onReloaded?.(pair, reason)
  }
}
