import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { accessSync, constants } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Namespace, TestNetwork } from './netns'

const TURNSERVER_PATHS = ['/usr/bin/turnserver', '/usr/sbin/turnserver', '/usr/local/bin/turnserver']
/** The port of the README's configuration: STUN and TURN. */
export const COTURN_PORT = 3478

export interface Coturn {
  /** Its namespace on the test network; it listens and relays on `ns.address` only. */
  ns: Namespace
  /** Its log lines so far (verbose: a line per request a session makes). */
  output: string[]
  /** Resolves with the first log line (so far or later) that matches; rejects after `timeoutMs` (30 s) or when coturn ends first. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  stop(): Promise<void>
}

/** `turnserver`, or a clear error when coturn is not installed. */
export function findTurnserver (): string {
  for (const path of TURNSERVER_PATHS) {
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {}
  }
  throw new Error(`The TURN tests run a real coturn (looked for turnserver at ${TURNSERVER_PATHS.join(', ')}): apt-get install -y coturn (.ci/run installs it).`)
}

/** The `turnserver.conf` block of the README's "STUN/TURN with coturn", as a person copies it. */
export async function readmeTurnserverConf (): Promise<string> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('### STUN/TURN with coturn'))
  const block = /```ini\n([\s\S]*?)\n\s*```/.exec(section)
  if (block == null) throw new Error('README.md has no ```ini block under "### STUN/TURN with coturn"')
  return block[1]!.split('\n').map(line => line.trim()).join('\n')
}

/**
 * The README's configuration, on the test network: its example addresses
 * become the namespace's, no NAT (no `external-ip`), no certificate (no
 * TLS), the log on stdout and verbose, its pid file and (unused) user
 * database in the test's folder, and coturn's own address allowed as a peer
 * (the README's denied ranges hold all of 10.0.0.0/8, so the test network
 * too; on a real server that address is public). Everything else as written:
 * `use-auth-secret`, the realm, the ports, the quotas.
 */
export function onTestNetwork (conf: string, options: { address: string, secret: string, pidfile: string, userdb: string }): string {
  const lines = conf.split('\n').flatMap(line => {
    const [key] = line.split('=')
    switch (key) {
      case 'static-auth-secret': return [`static-auth-secret=${options.secret}`]
      case 'listening-ip': return [`listening-ip=${options.address}`]
      case 'relay-ip': return [`relay-ip=${options.address}`]
      case 'external-ip': case 'cert': case 'pkey': case 'syslog': return []
      default: return [line]
    }
  })
  for (const needed of ['use-auth-secret', 'static-auth-secret=', `listening-ip=${options.address}`, `relay-ip=${options.address}`, `listening-port=${COTURN_PORT}`]) {
    if (!lines.some(l => l.startsWith(needed))) throw new Error(`the README's turnserver.conf has no ${needed} line`)
  }
  return [...lines, 'verbose', 'no-tls', 'no-dtls', 'log-file=stdout', `pidfile=${options.pidfile}`, `userdb=${options.userdb}`, `allowed-peer-ip=${options.address}`].join('\n') + '\n'
}

/**
 * A real coturn in a namespace of its own on the test network, configured
 * as the README says; resolves once it answers a STUN binding request.
 */
export async function startCoturn (network: TestNetwork, options: { secret: string, dir: string }): Promise<Coturn> {
  const turnserver = findTurnserver()
  const ns = await network.addNamespace()
  const confPath = join(options.dir, 'turnserver.conf')
  const conf = onTestNetwork(await readmeTurnserverConf(), { address: ns.address, secret: options.secret, pidfile: join(options.dir, 'turnserver.pid'), userdb: join(options.dir, 'turndb') })
  await writeFile(confPath, conf, { mode: 0o600 })
  // `ip netns exec` runs turnserver in the namespace in its own place (exec): its pid is coturn's
  const child = spawn(network.ip, ['netns', 'exec', ns.name, turnserver, '-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  const waiters = new Set<(line: string) => void>()
  for (const input of [child.stdout, child.stderr]) {
    createInterface({ input }).on('line', line => {
      output.push(line)
      for (const w of waiters) w(line)
    })
  }
  const exited = new Promise<void>(resolve => child.once('close', () => { resolve() }))
  const coturn: Coturn = {
    ns,
    output,
    async line (pattern, timeoutMs = 30_000) {
      for (const l of output) {
        const m = pattern.exec(l)
        if (m != null) return m
      }
      return await new Promise((resolve, reject) => {
        const done = (): void => { clearTimeout(timer); waiters.delete(onLine) }
        const timer = setTimeout(() => { done(); reject(new Error(`coturn logged no line matching ${pattern} in ${timeoutMs} ms`)) }, timeoutMs)
        const onLine = (l: string): void => {
          const m = pattern.exec(l)
          if (m != null) { done(); resolve(m) }
        }
        waiters.add(onLine)
        void exited.then(() => { done(); reject(new Error(`coturn exited before logging a line matching ${pattern}`)) })
      })
    },
    stop: async () => { await stop(child, exited) }
  }
  try {
    await Promise.race([
      stunAnswers(ns.address, COTURN_PORT, { from: network.hostAddress, timeoutMs: 30_000 }),
      exited.then(() => { throw new Error(`coturn exited (${child.exitCode}) before it answered:\n${output.join('\n')}`) })
    ])
  } catch (err) {
    await coturn.stop()
    throw err
  }
  return coturn
}

async function stop (child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode != null || child.signalCode != null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 10_000)
  await exited
  clearTimeout(timer)
}

/**
 * Resolves when a STUN Binding request (RFC 8489) to `address:port` gets
 * its success response, sent again every 200 ms until then (the server may
 * not have bound yet), from a socket on `from`; rejects after `timeoutMs`.
 */
export async function stunAnswers (address: string, port: number, options: { from: string, timeoutMs: number }): Promise<void> {
  const { from, timeoutMs } = options
  const transaction = randomBytes(12)
  const request = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), transaction])
  const socket = createSocket('udp4')
  await new Promise<void>((resolve, reject) => { socket.bind(0, from, () => { resolve() }); socket.once('error', reject) })
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearInterval(resend)
      clearTimeout(deadline)
      socket.close()
      if (err == null) resolve()
      else reject(err)
    }
    const send = (): void => { socket.send(request, port, address) }
    const resend = setInterval(send, 200)
    const deadline = setTimeout(() => { done(new Error(`no STUN answer from ${address}:${port} in ${timeoutMs} ms`)) }, timeoutMs)
    socket.on('message', msg => {
      if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(transaction)) done()
    })
    socket.on('error', () => {})
    send()
  })
}
