import { parseRelayConfig, RELAY_USAGE } from './config'
import { createRelay } from './relay'

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

  console.log('🚀 pipbingo relay starting…')
  const shown = new Map<string, number>()
  const relay = await createRelay(config, {
    onScanProgress: e => {
      if (e.type === 'file-hashing') {
        // one line per file and per tenth: a 1 GiB file says how far it is, a small one says little
        const tenth = e.totalBytes > 0 ? Math.floor((e.bytesHashed / e.totalBytes) * 10) : 10
        if ((shown.get(e.filename) ?? -1) >= tenth) return
        shown.set(e.filename, tenth)
        console.log(`   hashing ${e.filename}: ${(tenth * 10).toFixed(0)}% of ${(e.totalBytes / 1e6).toFixed(1)} MB`)
      } else if (e.type === 'file-skipped') {
        console.log(`   skipping ${e.filename}: ${e.reason}`)
      } else if (e.type === 'scan-done' && e.hashed > 0) {
        console.log(`   manifested ${e.hashed} new file(s), ${e.cached} unchanged`)
      }
    },
    onWarning: message => { console.warn(`⚠️  ${message}`) }
  })
  try {
    await relay.start()
  } catch (err: any) {
    console.error(`❌ cannot start the relay: ${err.message}${err.code === 'EADDRINUSE' ? ' (is another relay running? change ports with --http-port, --tcp-port, --ws-port)' : ''}`)
    await relay.stop().catch(() => {})
    process.exitCode = 1
    return
  }

  const url = relay.httpUrl().replace('127.0.0.1', 'localhost')
  console.log(`📡 relay peer id ${relay.node.peerId.toString()}`)
  for (const ma of relay.multiaddrs()) console.log(`   listening on ${ma.toString()}`)
  console.log(`🎬 ${relay.library.size} video(s) in ${config.libraryDir}: ${relay.library.entries().map(e => e.filename).join(', ')}`)
  if (relay.published.size > 0) console.log(`   and ${relay.published.size} published from browsers (listed while peers hold them)`)
  console.log(`✅ open ${url}/   (catalogue: ${url}/list)`)

  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    console.log(`\n${signal}: stopping the relay…`)
    const force = setTimeout(() => { console.error('forced exit'); process.exit(1) }, 5000)
    force.unref()
    relay.stop().then(() => { process.exitCode = 0 }, (err: Error) => { console.error(err.message); process.exitCode = 1 })
  }
  process.once('SIGINT', () => { shutdown('SIGINT') })
  process.once('SIGTERM', () => { shutdown('SIGTERM') })
}

// a remote peer must not stop the relay: a rejection nobody handled is a bug
// to log with its stack, not a reason to exit (tests that build the app in
// their own process, without this file, still fail on one)
process.on('unhandledRejection', (reason: unknown) => {
  console.error(`❌ unhandled rejection, the relay keeps running: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`)
})

main().catch((err: Error) => {
  console.error(`❌ ${err.stack ?? err.message}`)
  process.exitCode = 1
})
