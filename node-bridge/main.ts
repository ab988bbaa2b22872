import { createBridge } from './bridge'
import { BRIDGE_USAGE, parseBridgeConfig } from './config'
import { printDownloads } from './downloads/console-log'
import { releaseWebRtc } from './node'
import { stopOnSignals } from './signals'
import type { RelayLinkEvent } from './relay-link'
import { formatBytes, langFromEnv, messages, type Lang } from './messages'

/** The console's language: the environment's until the configuration (`--lang`) is read. */
let consoleLang: Lang = langFromEnv(process.env)

/** `npm run bridge`: the daemon, with the seed's console lines and signals. */
async function main (): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(BRIDGE_USAGE)
    return
  }
  let config
  try {
    config = parseBridgeConfig(process.argv.slice(2), process.env)
  } catch (err: any) {
    console.error(`${err.message}\n\n${BRIDGE_USAGE}`)
    process.exitCode = 2
    return
  }

  consoleLang = config.lang
  const m = messages(config.lang)
  console.log(m.starting)
  const shown = new Map<string, number>()
  const bridge = await createBridge(config, {
    onScanProgress: e => {
      if (e.type === 'file-hashing') {
        const tenth = e.totalBytes > 0 ? Math.floor((e.bytesHashed / e.totalBytes) * 10) : 10
        if ((shown.get(e.filename) ?? -1) >= tenth) return
        shown.set(e.filename, tenth)
        console.log(m.hashing(e.filename, tenth * 10, formatBytes(e.totalBytes, config.lang)))
      } else if (e.type === 'file-skipped') {
        console.log(m.skipped(e.filename, e.reason))
      }
    },
    onDamaged: e => { console.log(m.cacheDamaged(e.filename, e.lost.length, e.lost.length + e.kept)) },
    // the bench's baseline only (tests/bench/suites/bridge.ts): GET /stream without verifying what it reads
    verifyReads: process.env.PIPBINGO_BENCH_UNVERIFIED_READS !== '1'
  })
  bridge.nameRegistered.addEventListener('registered', () => { console.log(m.nameRegistered(bridge.name)) })
  printDownloads(bridge.manager, line => { console.log(line) }, { lang: config.lang })

  const { started, stopping } = stopOnSignals(async () => await bridge.start(), {
    stop: async () => {
      try { await bridge.stop() } finally { await releaseWebRtc() }
    },
    stopping: m.stopping,
    forced: m.forcedStop
  })
  let listed
  try {
    listed = await started
  } catch (err: any) {
    console.error(m.cannotStart(`${err.message}${err.code === 'EADDRINUSE' ? m.portsInUse : ''}`))
    await bridge.stop().catch(() => {})
    await releaseWebRtc()
    process.exitCode = 1
    return
  }
  if (stopping()) return
  const tcp = bridge.node.getMultiaddrs().find(a => !a.toString().includes('/ws') && a.toString().includes('/tcp/') && !a.toString().includes('/p2p-circuit'))
  console.log(m.nodeStarted)
  console.log(`   ID: ${bridge.node.peerId.toString()}`)
  console.log(`   Port: ${tcp?.toString().match(/\/tcp\/(\d+)/)?.[1] ?? config.p2pPort}`)
  if (bridge.relayLink.connected) console.log(m.connected(bridge.relayLink.peerId?.toString() ?? ''))
  else console.log(m.unreachableRetrying(config.relay ?? config.relayHttp))
  bridge.relayLink.addEventListener('relay', e => {
    const d = (e as CustomEvent<RelayLinkEvent>).detail
    if (d.type === 'connected') console.log(m.connected(d.peer))
    else if (d.type === 'disconnected') console.log(m.lostRelay)
    else console.log(m.unreachableNext(d.error, (d.waitMs / 1000).toFixed(1)))
  })
  console.log(m.seedingExisting(listed.seeding))
  if (listed.resuming > 0) console.log(m.resumed(listed.resuming))
  console.log(m.ready)
  console.log(m.apiAt(bridge.apiUrl().replace('127.0.0.1', 'localhost')))
  try {
    const ipc = bridge.ipcAddress()
    console.log(m.ipcAt(`${ipc.host}:${ipc.port}`, `ws://${ipc.host}:${ipc.wsPort}`, bridge.name))
  } catch (err: any) {
    console.log(m.ipcNotStarted(err.message))
  }
  for (const ma of bridge.node.getMultiaddrs()) console.log(`   P2P: ${ma.toString()}`)
  console.log(m.readyToSeed)
}

// a remote peer must not stop the daemon: a rejection nobody handled is a bug
// to log with its stack, not a reason to exit (tests that build the app in
// their own process, without this file, still fail on one)
process.on('unhandledRejection', (reason: unknown) => {
  console.error(messages(consoleLang).unhandled(reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)))
})

main().catch((err: Error) => {
  console.error(`❌ ${err.stack ?? err.message}`)
  process.exitCode = 1
})
