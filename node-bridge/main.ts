import { createBridge } from './bridge'
import { BRIDGE_USAGE, parseBridgeConfig } from './config'
import { printDownloads } from './downloads/console-log'
import { releaseWebRtc } from './node'
import type { RelayLinkEvent } from './relay-link'

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

  console.log('🚀 Démarrage du pipbingo Client Daemon...')
  const shown = new Map<string, number>()
  const bridge = await createBridge(config, {
    onScanProgress: e => {
      if (e.type === 'file-hashing') {
        const tenth = e.totalBytes > 0 ? Math.floor((e.bytesHashed / e.totalBytes) * 10) : 10
        if ((shown.get(e.filename) ?? -1) >= tenth) return
        shown.set(e.filename, tenth)
        console.log(`   Analyse de ${e.filename}: ${tenth * 10}% de ${(e.totalBytes / 1e6).toFixed(1)} Mo`)
      } else if (e.type === 'file-skipped') {
        console.log(`   ${e.filename} ignoré: ${e.reason}`)
      }
    }
  })
  printDownloads(bridge.manager, line => { console.log(line) })

  let listed
  try {
    listed = await bridge.start()
  } catch (err: any) {
    console.error(`❌ Impossible de démarrer le daemon: ${err.message}${err.code === 'EADDRINUSE' ? ' (un autre daemon tourne-t-il ? changez les ports avec --api-port, --ipc-port, --p2p-port, --ws-port)' : ''}`)
    await bridge.stop().catch(() => {})
    await releaseWebRtc()
    process.exitCode = 1
    return
  }
  const tcp = bridge.node.getMultiaddrs().find(a => !a.toString().includes('/ws') && a.toString().includes('/tcp/') && !a.toString().includes('/p2p-circuit'))
  console.log('🔗 Nœud P2P client démarré')
  console.log(`   ID: ${bridge.node.peerId.toString()}`)
  console.log(`   Port: ${tcp?.toString().match(/\/tcp\/(\d+)/)?.[1] ?? config.p2pPort}`)
  if (bridge.relayLink.connected) console.log(`✅ Connecté au serveur P2P: ${bridge.relayLink.peerId?.toString() ?? ''}`)
  else console.log(`⏳ Serveur P2P injoignable (${config.relay ?? config.relayHttp}): nouvelles tentatives en arrière-plan`)
  bridge.relayLink.addEventListener('relay', e => {
    const d = (e as CustomEvent<RelayLinkEvent>).detail
    if (d.type === 'connected') console.log(`✅ Connecté au serveur P2P: ${d.peer}`)
    else if (d.type === 'disconnected') console.log(`⚠️  Connexion au serveur P2P perdue: reconnexion…`)
    else console.log(`⏳ Serveur P2P injoignable (${d.error}): nouvelle tentative dans ${(d.waitMs / 1000).toFixed(1)} s`)
  })
  console.log(`🌱 Seeding de ${listed.seeding} fichiers existants`)
  if (listed.resuming > 0) console.log(`📥 ${listed.resuming} téléchargement(s) interrompu(s) repris`)
  console.log('✅ Daemon initialisé avec succès')
  console.log(`🌐 API locale démarrée sur ${bridge.apiUrl().replace('127.0.0.1', 'localhost')}`)
  try {
    const ipc = bridge.ipcAddress()
    console.log(`💬 IPC locale sur ${ipc.host}:${ipc.port} (WebSocket ws://${ipc.host}:${ipc.wsPort}), nom « ${bridge.name} »`)
  } catch (err: any) {
    console.log(`⚠️  IPC non démarrée (${err.message}): changez de port avec --ipc-port`)
  }
  for (const ma of bridge.node.getMultiaddrs()) console.log(`   P2P: ${ma.toString()}`)
  console.log('🎬 Prêt à télécharger et seeder des vidéos!')

  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    console.log(`\n${signal}: arrêt du daemon…`)
    const force = setTimeout(() => { console.error('arrêt forcé'); process.exit(1) }, 5000)
    force.unref()
    bridge.stop()
      .then(async () => { await releaseWebRtc(); process.exitCode = 0 }, async (err: Error) => { console.error(err.message); await releaseWebRtc(); process.exitCode = 1 })
  }
  process.once('SIGINT', () => { shutdown('SIGINT') })
  process.once('SIGTERM', () => { shutdown('SIGTERM') })
}

// a remote peer must not stop the daemon: a rejection nobody handled is a bug
// to log with its stack, not a reason to exit (tests that build the app in
// their own process, without this file, still fail on one)
process.on('unhandledRejection', (reason: unknown) => {
  console.error(`❌ Rejet non géré, le daemon continue: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`)
})

main().catch((err: Error) => {
  console.error(`❌ ${err.stack ?? err.message}`)
  process.exitCode = 1
})
