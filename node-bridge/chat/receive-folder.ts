import { link, mkdir, open, unlink, type FileHandle } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import type { FileOffer, FileReceiver, IncomingFile } from '@core/protocols/chat/types'
import { ReceiveFolderError } from './errors'
import { numberedName, safeFileName } from './safe-name'

const MAX_TRIES = 1000

/**
 * Received files land in one folder and nowhere else. Bytes go to a hidden
 * temporary file (`.incoming-<transfer id>.part`, created exclusively); when
 * the hash checks out it is hard-linked to a free name built by
 * safeFileName (`link` refuses an existing name, so nothing is ever
 * overwritten, not even through a symlink planted there), then the
 * temporary name is removed. A failed transfer leaves nothing behind.
 */
export class ReceiveFolder implements FileReceiver {
  readonly dir: string

  constructor (dir: string) {
    this.dir = resolve(dir)
  }

  async open (offer: FileOffer): Promise<IncomingFile> {
    await mkdir(this.dir, { recursive: true })
    const tmp = this.inside(`.incoming-${offer.id}.part`)
    let handle: FileHandle
    try {
      handle = await open(tmp, 'wx', 0o600)
    } catch (err: any) {
      throw new ReceiveFolderError(`Cannot create a file in the receive folder (${err?.code ?? err?.message})`)
    }
    const wanted = safeFileName(offer.name)
    let closed = false
    const close = async (): Promise<void> => {
      if (closed) return
      closed = true
      await handle.close()
    }
    return {
      write: async (chunk) => {
        let done = 0
        while (done < chunk.byteLength) done += (await handle.write(chunk, done, chunk.byteLength - done)).bytesWritten
      },
      finish: async () => {
        await handle.sync()
        await close()
        const savedAs = await this.claim(tmp, wanted)
        await unlink(tmp)
        return { savedAs, path: this.inside(savedAs) }
      },
      abort: async () => {
        await close().catch(() => {})
        await unlink(tmp).catch(() => {})
      }
    }
  }

  /** Link `tmp` to the first free name of `wanted`, `wanted (1)`, … */
  private async claim (tmp: string, wanted: string): Promise<string> {
    for (let n = 0; n < MAX_TRIES; n++) {
      const name = n === 0 ? wanted : numberedName(wanted, n)
      try {
        await link(tmp, this.inside(name))
        return name
      } catch (err: any) {
        if (err?.code !== 'EEXIST') throw new ReceiveFolderError(`Cannot store the file (${err?.code ?? err?.message})`)
      }
    }
    throw new ReceiveFolderError(`No free name for ${wanted} in the receive folder`)
  }

  /** A path in the folder; refuses (a bug, since names are sanitized) anything that would leave it. */
  private inside (name: string): string {
    const path = resolve(join(this.dir, name))
    if (!path.startsWith(this.dir + sep) || path.slice(this.dir.length + 1).includes(sep)) {
      throw new ReceiveFolderError('A received file name would leave the receive folder')
    }
    return path
  }
}
