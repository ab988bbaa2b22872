/**
 * Every line the bridge and its CLI show a person, in English (the default)
 * and in French (the seed's language): the daemon's console, the CLI's
 * tables and the REST API's `message` texts. What programs read — statuses,
 * field names, units of the contract's fields — is not translated.
 *
 * One unit convention everywhere, as the web app does: decimal SI
 * multiples (1 kB = 1000 B, 1 MB = 10⁶ B), in French with French symbols
 * (ko, Mo, Go). The contract's `download_speed`/`upload_speed` fields stay
 * KB/s of 1024 B (the seed's); people see them converted.
 */

export const LANGS = ['en', 'fr'] as const
export type Lang = typeof LANGS[number]

/**
 * The language of a process: PIPBINGO_LANG, then the POSIX locale
 * variables in their order of precedence (LC_ALL, LC_MESSAGES, LANG):
 * French for `fr…`, English for anything else.
 */
export function langFromEnv (env: NodeJS.ProcessEnv): Lang {
  for (const name of ['PIPBINGO_LANG', 'LC_ALL', 'LC_MESSAGES', 'LANG']) {
    const value = env[name]
    if (value == null || value === '') continue
    return /^fr\b|^fr[_-]/i.test(value) ? 'fr' : 'en'
  }
  return 'en'
}

/** Bytes for a person: decimal units, one decimal under 100. */
export function formatBytes (bytes: number, lang: Lang = 'en'): string {
  const units = lang === 'fr' ? ['o', 'ko', 'Mo', 'Go', 'To'] : ['B', 'kB', 'MB', 'GB', 'TB']
  if (!Number.isFinite(bytes)) return '—'
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1000 && unit < units.length - 1) { value /= 1000; unit++ }
  return unit === 0 ? `${Math.round(value)} ${units[0] as string}` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit] as string}`
}

/** A speed the contract gives in KB/s of 1024 B, for a person. */
export function formatSpeed (kilobytesPerSecond: number, lang: Lang = 'en'): string {
  return `${formatBytes(kilobytesPerSecond * 1024, lang)}/s`
}

const en = {
  // the daemon's console
  starting: '🚀 Starting the pipbingo client daemon...',
  hashing: (file: string, percent: number, size: string) => `   Hashing ${file}: ${percent}% of ${size}`,
  skipped: (file: string, reason: string) => `   ${file} skipped: ${reason}`,
  cannotStart: (reason: string) => `❌ Cannot start the daemon: ${reason}`,
  portsInUse: ' (is another daemon running? change the ports with --api-port, --ipc-port, --p2p-port, --ws-port)',
  nodeStarted: '🔗 P2P client node started',
  connected: (peer: string) => `✅ Connected to the P2P server: ${peer}`,
  unreachableRetrying: (where: string) => `⏳ P2P server unreachable (${where}): retrying in the background`,
  lostRelay: '⚠️  Lost the connection to the P2P server: reconnecting…',
  unreachableNext: (error: string, seconds: string) => `⏳ P2P server unreachable (${error}): next attempt in ${seconds} s`,
  seedingExisting: (n: number) => `🌱 Seeding ${n} existing file${n === 1 ? '' : 's'}`,
  resumed: (n: number) => `📥 ${n} interrupted download${n === 1 ? '' : 's'} resumed`,
  ready: '✅ Daemon initialised',
  apiAt: (url: string) => `🌐 Local API at ${url}`,
  ipcAt: (hostPort: string, ws: string, name: string) => `💬 Local IPC on ${hostPort} (WebSocket ${ws}), name “${name}”`,
  ipcNotStarted: (reason: string) => `⚠️  IPC not started (${reason}): change its port with --ipc-port`,
  readyToSeed: '🎬 Ready to download and seed videos!',
  stopping: (signal: string) => `\n${signal}: stopping the daemon…`,
  forcedStop: 'forced stop',
  unhandled: (reason: string) => `❌ Unhandled rejection, the daemon goes on: ${reason}`,
  // a download's lines, on the console
  queued: (file: string) => `⏳ Queued: ${file}`,
  downloadStarting: (file: string) => `📥 Starting P2P download: ${file}`,
  downloadResuming: (file: string, held: number, total: number) => `📥 Resuming P2P download: ${file} (${held}/${total} chunks already in the cache)`,
  downloadDone: (file: string) => `✅ Download complete: ${file}`,
  seedingStarted: (file: string) => `🌱 Seeding: ${file}`,
  downloadFailed: (file: string, error: string) => `❌ Download failed: ${file}: ${error}`,
  downloadCancelled: (file: string) => `🛑 Download cancelled: ${file}`,
  // the REST API's messages
  restStarted: 'Download started',
  restQueued: 'Queued: every download slot is busy',
  restCached: (otherName?: string) => `Already in the cache${otherName != null ? ` (as ${otherName})` : ''}: not downloaded again`,
  restAlreadyDownloading: 'Already downloading',
  restCancelled: 'Download cancelled',
  // the CLI
  cliSeeding: (file: string) => `🌱 ${file}: in the cache, seeding`,
  cliNoDownloads: 'No downloads.',
  cliStatusHeader: ['file', 'state', 'progress', 'bytes', 'speed', 'sources', 'date'],
  cliEmptyCatalogue: 'The catalogue is empty.',
  cliListHeader: ['', 'file', 'size', 'title'],
  cliStats: {
    peerId: 'peer id',
    relay: 'relay',
    connected: 'connected',
    disconnected: 'disconnected',
    peers: 'connected peers',
    files: 'files',
    fileCounts: (cache: number, seeding: number, downloading: number, queued: number) => `${cache} in the cache, ${seeding} seeding, ${downloading} downloading, ${queued} queued`,
    fromPeers: 'from peers',
    fromOrigin: 'from the origin',
    ofWhichHttp: (bytes: string) => `of which HTTP ${bytes}`,
    uploaded: 'uploaded',
    speed: 'speed'
  }
}

export type Messages = typeof en

const fr: Messages = {
  starting: '🚀 Démarrage du pipbingo Client Daemon...',
  hashing: (file, percent, size) => `   Analyse de ${file}: ${percent}% de ${size}`,
  skipped: (file, reason) => `   ${file} ignoré: ${reason}`,
  cannotStart: (reason) => `❌ Impossible de démarrer le daemon: ${reason}`,
  portsInUse: ' (un autre daemon tourne-t-il ? changez les ports avec --api-port, --ipc-port, --p2p-port, --ws-port)',
  nodeStarted: '🔗 Nœud P2P client démarré',
  connected: (peer) => `✅ Connecté au serveur P2P: ${peer}`,
  unreachableRetrying: (where) => `⏳ Serveur P2P injoignable (${where}): nouvelles tentatives en arrière-plan`,
  lostRelay: '⚠️  Connexion au serveur P2P perdue: reconnexion…',
  unreachableNext: (error, seconds) => `⏳ Serveur P2P injoignable (${error}): nouvelle tentative dans ${seconds} s`,
  seedingExisting: (n) => `🌱 Seeding de ${n} fichiers existants`,
  resumed: (n) => `📥 ${n} téléchargement(s) interrompu(s) repris`,
  ready: '✅ Daemon initialisé avec succès',
  apiAt: (url) => `🌐 API locale démarrée sur ${url}`,
  ipcAt: (hostPort, ws, name) => `💬 IPC locale sur ${hostPort} (WebSocket ${ws}), nom « ${name} »`,
  ipcNotStarted: (reason) => `⚠️  IPC non démarrée (${reason}): changez de port avec --ipc-port`,
  readyToSeed: '🎬 Prêt à télécharger et seeder des vidéos!',
  stopping: (signal) => `\n${signal}: arrêt du daemon…`,
  forcedStop: 'arrêt forcé',
  unhandled: (reason) => `❌ Rejet non géré, le daemon continue: ${reason}`,
  queued: (file) => `⏳ En file d'attente: ${file}`,
  downloadStarting: (file) => `📥 Début du téléchargement P2P: ${file}`,
  downloadResuming: (file, held, total) => `📥 Reprise du téléchargement P2P: ${file} (${held}/${total} chunks déjà dans le cache)`,
  downloadDone: (file) => `✅ Téléchargement terminé: ${file}`,
  seedingStarted: (file) => `🌱 Début du seeding: ${file}`,
  downloadFailed: (file, error) => `❌ Échec du téléchargement: ${file}: ${error}`,
  downloadCancelled: (file) => `🛑 Téléchargement annulé: ${file}`,
  restStarted: 'Téléchargement démarré',
  restQueued: 'En file d\'attente: les emplacements de téléchargement sont occupés',
  restCached: (otherName) => `Déjà dans le cache${otherName != null ? ` (sous le nom ${otherName})` : ''}: pas de second téléchargement`,
  restAlreadyDownloading: 'Déjà en cours de téléchargement',
  restCancelled: 'Téléchargement annulé',
  cliSeeding: (file) => `🌱 ${file}: dans le cache, seeding`,
  cliNoDownloads: 'Aucun téléchargement.',
  cliStatusHeader: ['fichier', 'état', 'progrès', 'octets', 'vitesse', 'sources', 'date'],
  cliEmptyCatalogue: 'Le catalogue est vide.',
  cliListHeader: ['', 'fichier', 'taille', 'titre'],
  cliStats: {
    peerId: 'peer id',
    relay: 'relais',
    connected: 'connecté',
    disconnected: 'déconnecté',
    peers: 'pairs connectés',
    files: 'fichiers',
    fileCounts: (cache, seeding, downloading, queued) => `${cache} dans le cache, ${seeding} en seeding, ${downloading} en cours, ${queued} en attente`,
    fromPeers: 'reçu des pairs',
    fromOrigin: 'reçu de l\'origine',
    ofWhichHttp: (bytes) => `dont HTTP ${bytes}`,
    uploaded: 'envoyé',
    speed: 'vitesse'
  }
}

const CATALOGUE: Record<Lang, Messages> = { en, fr }

export function messages (lang: Lang): Messages {
  return CATALOGUE[lang]
}
