import { parseRelayConfig, RELAY_USAGE } from './config'
import { createRelay, type CreateRelayOptions, type Relay } from './relay'
import { formatBytes, langFromArgs, messages, type Messages } from '../node-bridge/messages'
import { stopOnSignals } from '../node-bridge/signals'
import { FILES_CHANGED } from './tls/index'

/** The console's lines: the language of --lang or the locale, known before the flags parse. */
let m: Messages['relay'] = messages(langFromArgs(process.argv.slice(2), process.env)).relay

/** `npm run relay`: the central server, with signals and a readable console. */
async function main (): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(RELAY_USAGE)
    return
  }
  let config
  try {
    config = parseRelayConfig(process.argv.slice(2), process.env)
  } catch (err: any) {
    console.error(`${err.message}\n\n${RELAY_USAGE}`)
    process.exitCode = 2
    return
  }

  m = messages(config.lang).relay
  console.log(m.starting)
  const shown = new Map<string, number>()
  const names = (san: string): string => san.replace(/(DNS|IP Address):/g, '') || '(no subjectAltName)'
  const options: CreateRelayOptions = {
    onScanProgress: e => {
      if (e.type === 'file-hashing') {
        // one line per file and per tenth: a 1 GiB file says how far it is, a small one says little
        const tenth = e.totalBytes > 0 ? Math.floor((e.bytesHashed / e.totalBytes) * 10) : 10
        if ((shown.get(e.filename) ?? -1) >= tenth) return
        shown.set(e.filename, tenth)
        console.log(m.hashing(e.filename, tenth * 10, formatBytes(e.totalBytes, config.lang)))
      } else if (e.type === 'file-skipped') {
        console.log(m.skipping(e.filename, e.reason))
      } else if (e.type === 'scan-done' && e.hashed > 0) {
        console.log(m.manifested(e.hashed, e.cached))
      }
    },
    onWarning: message => { console.warn(`⚠️  ${message}`) },
    onCertificate: (c, reason) => { console.log(m.certificateReloaded(reason === FILES_CHANGED ? m.certificateFilesChanged : reason, names(c.subjectAltName), c.validTo.toISOString(), c.fingerprint256)) }
  }
  let relay: Relay
  try {
    relay = await createRelay(config, options)
  } catch (err: any) {
    // a certificate that cannot be used: the message says which file and why
    if (err?.name !== 'CertificateLoadError') throw err
    console.error(m.cannotStart(err.message))
    process.exitCode = 1
    return
  }
  // SIGHUP: the certificate files again (a renewal; they are watched too). Without TLS it keeps its default (exit)
  if (relay.certificate() != null) process.on('SIGHUP', () => { void relay.reloadCertificate('SIGHUP') })
  // unreachable or lost peer relays come as warnings (once per outage); each link up, as a line
  relay.peerRelays.on(e => { if (e.type === 'up') console.log(m.peerRelayUp(e.peer.toString())) })
  const { started, stopping } = stopOnSignals(async () => { await relay.start() }, {
    stop: async () => { await relay.stop() }, stopping: m.stopping, forced: m.forcedExit
  })
  try {
    await started
  } catch (err: any) {
    console.error(m.cannotStart(`${err.message}${err.code === 'EADDRINUSE' ? m.portsInUse : ''}`))
    await relay.stop().catch(() => {})
    process.exitCode = 1
    return
  }
  if (stopping()) return

  const certificate = relay.certificate()
  // localhost reads better, but a certificate names the address it was made for
  const url = certificate != null ? relay.publicUrl() : relay.publicUrl().replace('//127.0.0.1:', '//localhost:')
  console.log(m.peerId(relay.node.peerId.toString()))
  if (certificate != null) console.log(m.certificate(names(certificate.subjectAltName), certificate.validTo.toISOString(), certificate.fingerprint256))
  for (const ma of relay.multiaddrs()) console.log(m.listening(ma.toString()))
  console.log(m.library(relay.library.size, config.libraryDir, relay.library.entries().map(e => e.filename).join(', ')))
  if (relay.published.size > 0) console.log(m.published(relay.published.size))
  console.log(m.open(url))
}

// a remote peer must not stop the relay: a rejection nobody handled is a bug
// to log with its stack, not a reason to exit (tests that build the app in
// their own process, without this file, still fail on one)
process.on('unhandledRejection', (reason: unknown) => {
  console.error(m.unhandled(reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)))
})

main().catch((err: Error) => {
  console.error(`❌ ${err.stack ?? err.message}`)
  process.exitCode = 1
})
