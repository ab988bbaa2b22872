import { readFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'

export interface MachineInfo {
  date: string
  cpu: string
  cores: number
  ramGiB: number
  node: string
  /** Versions of the libp2p stack as installed in node_modules. */
  packages: Record<string, string>
}

const PACKAGES = ['libp2p', '@chainsafe/libp2p-noise', '@chainsafe/libp2p-yamux', '@libp2p/tcp']

async function installedVersion (root: string, name: string): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }
    return pkg.version ?? 'unknown'
  } catch {
    return 'not installed'
  }
}

/** What the figures depend on: the machine, Node and the libp2p stack. */
export async function machineInfo (repoRoot: string): Promise<MachineInfo> {
  const list = cpus()
  const packages: Record<string, string> = {}
  for (const name of PACKAGES) packages[name] = await installedVersion(repoRoot, name)
  return {
    date: new Date().toISOString(),
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    ramGiB: Math.round(totalmem() / 1024 ** 3 * 10) / 10,
    node: process.version,
    packages
  }
}
