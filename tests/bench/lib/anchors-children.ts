import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { AnchorTools } from './anchors-setup'
import { stopProcess } from './bridge-process'

/** A leecher or an HTTP download that takes longer than this is stuck (256 MiB over loopback takes seconds). */
const DOWNLOAD_LIMIT_MS = 3 * 60_000
/** The seeder hashes the whole file before it listens. */
const SEED_LIMIT_MS = 2 * 60_000
/** The seeder outlives every round of the suite (minutes), not a bench that lost track of it. */
const SEEDER_LIFETIME_MS = 30 * 60_000

/**
 * Loaded first by every child. WebTorrent has no option for the address it
 * listens on (its ConnPool calls `tcpServer.listen(port)`, every interface):
 * a listen on a bare port is made a listen on 127.0.0.1. A child also ends
 * when the bench closes its stdin (the bench died) or past its time limit.
 */
const GUARD = `import net from 'node:net'
import { readFileSync } from 'node:fs'
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number') args.splice(1, 0, '127.0.0.1')
  return listen.apply(this, args)
}
process.stdin.on('end', () => process.exit(3)).resume()
setTimeout(() => { console.error('anchors child: time limit reached'); process.exit(2) }, Number(process.env.ANCHORS_LIMIT_MS)).unref()
export const OPTIONS = { dht: false, tracker: false, lsd: false, utp: false, webSeeds: false, natUpnp: false, natPmp: false }
// VmHWM, not getrusage's ru_maxrss: Linux carries into ru_maxrss the RSS of the parent at fork
// (the bench's, 1.6 GB late in a full run), while VmHWM belongs to this program's own memory
export function report (cpu, started, more) {
  const ms = performance.now() - started
  const used = process.cpuUsage(cpu)
  const peakRss = Number(/^VmHWM:\\s+(\\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024
  console.log(JSON.stringify({ ms, cpuSeconds: (used.user + used.system) / 1e6, peakRss, ...more }))
}
`

/** Seeds argv[2] (the torrent made here, with webtorrent's default piece length), writes the .torrent to argv[3], prints its port. */
const SEEDER = `import { OPTIONS } from './guard.mjs'
import { writeFileSync } from 'node:fs'
import WebTorrent from 'webtorrent'
const [file, torrentOut] = process.argv.slice(2)
const client = new WebTorrent(OPTIONS)
client.on('error', err => { console.error(err); process.exit(1) })
client.seed(file, { announce: [] }, torrent => {
  writeFileSync(torrentOut, torrent.torrentFile)
  console.log(JSON.stringify({ port: client.address().port, pieceLength: torrent.pieceLength }))
})
`

/** Downloads the torrent argv[2] into the folder argv[3] from the peer argv[4]; timed from add() to done and the file flushed. */
const LEECHER = `import { OPTIONS, report } from './guard.mjs'
import { readFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import WebTorrent from 'webtorrent'
const [torrentFile, dir, peer] = process.argv.slice(2)
const client = new WebTorrent(OPTIONS)
client.on('error', err => { console.error(err); process.exit(1) })
const cpu = process.cpuUsage()
const started = performance.now()
const torrent = client.add(readFileSync(torrentFile), { path: dir })
torrent.once('infoHash', () => { torrent.addPeer(peer) })
torrent.once('done', async () => {
  const path = join(dir, torrent.files[0].path)
  const handle = await open(path, 'r+')
  await handle.datasync()
  await handle.close()
  report(cpu, started, { path })
  process.exit(0)
})
`

/** GET argv[2] with fetch, the body piped into the file argv[3], flushed at the end. */
const HTTP_GET = `import { report } from './guard.mjs'
import { createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
const [url, path] = process.argv.slice(2)
const cpu = process.cpuUsage()
const started = performance.now()
const response = await fetch(url)
if (response.status !== 200) throw new Error('GET ' + url + ' answered ' + response.status)
await pipeline(response.body, createWriteStream(path, { flags: 'wx' }))
const handle = await open(path, 'r+')
await handle.datasync()
await handle.close()
report(cpu, started, { path })
process.exit(0)
`

/** What a downloading child says of itself once done. */
export interface ChildDownload {
  ms: number
  /** User + system, all threads, from before the request to the file flushed (module loading not counted). */
  cpuSeconds: number
  /** VmHWM (/proc/self/status): the peak RSS of the child's own program since it started, bytes. */
  peakRss: number
  /** The downloaded file. */
  path: string
}

interface Child {
  child: ChildProcess
  output: string[]
  /** The first stdout line that is a JSON object, parsed; rejects if the process exits first. */
  json: Promise<any>
  exited: Promise<number | null>
}

/** Write the children's scripts next to the installed node_modules, where `import 'webtorrent'` resolves. */
export async function writeChildScripts (tools: AnchorTools): Promise<void> {
  const scripts = { 'guard.mjs': GUARD, 'seeder.mjs': SEEDER, 'leecher.mjs': LEECHER, 'http-get.mjs': HTTP_GET }
  for (const [file, text] of Object.entries(scripts)) await writeFile(join(tools.dir, file), text)
}

function spawnChild (tools: AnchorTools, script: string, args: string[], limitMs: number): Child {
  const child = spawn(tools.node, [join(tools.dir, script), ...args], {
    cwd: tools.dir, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DEBUG: '', ANCHORS_LIMIT_MS: String(limitMs) }
  })
  const output: string[] = []
  const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
  createInterface({ input: child.stderr! }).on('line', line => output.push(line))
  const lines = createInterface({ input: child.stdout! })
  const json = new Promise((resolve, reject) => {
    lines.on('line', line => {
      output.push(line)
      if (line.startsWith('{')) resolve(JSON.parse(line))
    })
    void exited.then(code => { reject(new Error(`${script} exited (${code}) before reporting:\n${output.slice(-15).join('\n')}`)) })
  })
  return { child, output, json, exited }
}

/** Run a child that downloads and exits, and return what it reported; killed if anything fails. */
async function downloadChild (tools: AnchorTools, script: string, args: string[]): Promise<ChildDownload> {
  const c = spawnChild(tools, script, args, DOWNLOAD_LIMIT_MS)
  try {
    const result = await c.json as ChildDownload
    const code = await c.exited
    if (code !== 0) throw new Error(`${script} exited with ${code}:\n${c.output.slice(-15).join('\n')}`)
    return result
  } finally {
    await stopProcess(c)
  }
}

export interface Seeder {
  pid: number
  port: number
  torrentFile: string
  pieceLength: number
  stop(): Promise<void>
}

/** A WebTorrent client seeding `file` on a loopback port, up until stop() (or the bench's exit). */
export async function startSeeder (tools: AnchorTools, file: string): Promise<Seeder> {
  const torrentFile = join(tools.dir, 'seed.torrent')
  const c = spawnChild(tools, 'seeder.mjs', [file, torrentFile], SEEDER_LIFETIME_MS)
  const timer = setTimeout(() => { c.child.kill('SIGKILL') }, SEED_LIMIT_MS)
  try {
    const { port, pieceLength } = await c.json as { port: number, pieceLength: number }
    return { pid: c.child.pid!, port, torrentFile, pieceLength, stop: async () => { await stopProcess(c) } }
  } catch (err) {
    await stopProcess(c)
    throw err
  } finally {
    clearTimeout(timer)
  }
}

/** A fresh WebTorrent client downloads the seeder's torrent into `dir`, its only peer the seeder. */
export async function leech (tools: AnchorTools, seeder: Seeder, dir: string): Promise<ChildDownload> {
  return await downloadChild(tools, 'leecher.mjs', [seeder.torrentFile, dir, `127.0.0.1:${seeder.port}`])
}

/** A plain HTTP GET of `url` into `path` by a Node child process. */
export async function httpGet (tools: AnchorTools, url: string, path: string): Promise<ChildDownload> {
  return await downloadChild(tools, 'http-get.mjs', [url, path])
}
