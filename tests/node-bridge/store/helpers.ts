import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach } from 'vitest'
import { FsChunkStore, type FsChunkStoreInit } from '../../../node-bridge/store/index'

export const KIB16 = 16 * 1024

export const linux = process.platform === 'linux'

export function deferred (): { promise: Promise<void>, resolve(): void } {
  let resolve = (): void => {}
  const promise = new Promise<void>(r => { resolve = r })
  return { promise, resolve }
}

export async function tempRoot (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'pipbingo-fs-store-'))
}

/** Every path under `dir`, relative, sorted: to prove what was (not) written. */
export async function tree (dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort()
}

/** The files this process has open under `dir` (Linux: /proc/self/fd), relative, sorted; a deleted one ends in " (deleted)". */
export async function openFiles (dir: string): Promise<string[]> {
  const found: string[] = []
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', fd)).catch(() => '') // readdir's own descriptor is gone by now
    if (target.startsWith(`${dir}/`)) found.push(target.slice(dir.length + 1))
  }
  return found.sort()
}

export interface StoreFolder {
  /** A fresh temporary folder per test, removed after it. */
  readonly root: string
  /** `root/store`, not created: the store creates it. */
  readonly dir: string
  /** Open a store on `dir` (16 KiB chunks for scanned files); every store opened is closed after the test. */
  open(options?: Omit<FsChunkStoreInit, 'dir'>): Promise<FsChunkStore>
}

/** Call inside a `describe`: a store folder for each of its tests. */
export function useStoreFolder (): StoreFolder {
  const opened: FsChunkStore[] = []
  const folder = {
    root: '',
    dir: '',
    async open (options: Omit<FsChunkStoreInit, 'dir'> = {}): Promise<FsChunkStore> {
      const store = await FsChunkStore.open({ dir: folder.dir, chunkSize: KIB16, ...options })
      opened.push(store)
      return store
    }
  }
  beforeEach(async () => {
    folder.root = await tempRoot()
    folder.dir = join(folder.root, 'store')
  })
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close()
    await rm(folder.root, { recursive: true, force: true })
  })
  return folder
}
