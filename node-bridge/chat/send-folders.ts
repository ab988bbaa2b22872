import { mkdir, realpath } from 'node:fs/promises'
import { basename, isAbsolute, relative, resolve } from 'node:path'
import { FileSourceError } from './errors'

/** Files the project writes that hold secrets: never sent, whichever folder they sit in. */
const SECRET_NAMES = new Set(['identity.key', 'kem.key', 'api-token'])

/** Whether `path` is `dir` or inside it (both already resolved). */
function inside (path: string, dir: string): boolean {
  const rel = relative(dir, path)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

/**
 * The folders `send_file` may read from (`--send-dir`, default
 * `<dataDir>/outbox`). A request names any path; the file it ends at, once
 * symlinks and `..` are resolved (realpath), must be inside one of the
 * folders (also resolved), must not be in the bridge's data folder (its
 * keys, contacts, token) unless that is an outbox folder inside it, and
 * must not be a key file by name anywhere. A relative path is taken in the
 * first folder, so `"file_path": "notes.txt"` sends `<outbox>/notes.txt`.
 *
 * The check returns the resolved path, and the file is opened by that path
 * with O_NOFOLLOW (file-source.ts): a symlink swapped in afterwards is refused.
 */
export class SendFolders {
  constructor (readonly dirs: readonly string[], private readonly dataDir: string) {
    if (dirs.length === 0) throw new Error('send_file needs at least one folder to read from')
  }

  /** Create the first folder (the outbox) when it does not exist, owner-only. */
  async prepare (): Promise<void> {
    await mkdir(this.dirs[0]!, { recursive: true, mode: 0o700 })
  }

  /** The real path of the file `filePath` names, or a FileSourceError saying why it may not be sent. */
  async resolve (filePath: string): Promise<string> {
    const asked = resolve(this.dirs[0]!, filePath)
    let real: string
    try {
      real = await realpath(asked)
    } catch (err: any) {
      throw new FileSourceError(err?.code === 'ENOENT' ? `File not found: ${filePath}` : `Cannot read ${filePath} (${err?.code ?? err?.message})`)
    }
    const dirs = (await Promise.all(this.dirs.map(async d => await realpath(d).catch(() => undefined)))).filter(d => d != null)
    const data = await realpath(this.dataDir).catch(() => resolve(this.dataDir))
    const folder = dirs.find(d => inside(real, d))
    if (folder == null) {
      throw new FileSourceError(`${filePath} is outside the folders files may be sent from (${this.dirs.join(', ')}): copy it there, or start the bridge with --send-dir <folder>`)
    }
    // the data folder (keys, contacts) is off limits, but for an outbox folder inside it
    const secret = SECRET_NAMES.has(basename(real)) || (inside(real, data) && !(inside(folder, data) && folder !== data))
    if (secret) throw new FileSourceError(`${filePath} is one of the bridge's own files (keys, contacts, token): it is never sent`)
    return real
  }
}
