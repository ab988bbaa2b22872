/**
 * Every line the bridge, its CLI and the relay show a person, in English
 * (the default) and in French (the seed's language): the daemon's and the
 * relay's consoles, the CLI's usage, tables, errors and chat lines, and the
 * REST API's `message` texts. What programs read — statuses,
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

/**
 * The language a command line asks for, before its arguments are known to
 * parse (so its usage and errors are in it too): a valid `--lang x` or
 * `--lang=x`, else the environment's (langFromEnv).
 */
export function langFromArgs (argv: string[], env: NodeJS.ProcessEnv): Lang {
  const at = argv.findIndex(a => a === '--lang' || a.startsWith('--lang='))
  const asked = at < 0 ? undefined : (argv[at]!.startsWith('--lang=') ? argv[at]!.slice('--lang='.length) : argv[at + 1])
  return (LANGS as readonly string[]).includes(asked ?? '') ? asked as Lang : langFromEnv(env)
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
  nameRegistered: (name: string) => `📇 Name “${name}” registered at the relay: other bridges can reach it by name`,
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
  downloadFailedDiskFull: (file: string, code: string, kept: string, total: string) => `❌ Download failed: ${file}: the disk holding the cache is full (${code}). ${kept} of ${total} kept: free some space and ask again, it resumes from there`,
  downloadFailedNoSource: (file: string) => `❌ Download failed: ${file}: no peer or origin has this file`,
  lookingForSource: (file: string) => `🔎 Looking for a peer or origin that has ${file} (it waits without taking a download slot)`,
  downloadCancelled: (file: string) => `🛑 Download cancelled: ${file}`,
  cacheDamaged: (file: string, lost: number, total: number) => `⚠️  ${file} is damaged in the cache: ${lost} of ${total} chunks do not match their hashes; they are not served and are fetched again`,
  // the REST API's messages
  restStarted: 'Download started',
  restQueued: 'Queued: every download slot is busy',
  restWaitingForSource: 'Queued: no peer or origin is known to have this file yet; it fails if none turns up',
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
  },
  // the CLI's usage, errors and chat lines
  cli: {
    usage: `Usage: pipbingo <command> [options]
  download <file>…   download catalogue videos into the daemon's cache, with a live progress bar
  status             every download the daemon knows
  stats              the daemon's P2P counters
  ls                 the relay's catalogue (● = in the cache)
  cancel <file>…     cancel a download and delete its partial file
  watch              live bars of every download under way
  chat …             messages, files, contacts and keys over the daemon's IPC (pipbingo chat --help)
Options:
  --api <url>        the daemon's REST API (default http://127.0.0.1:9090, env PIPBINGO_API)
  --json             print the API's JSON
  --detach           download: return once the daemon has the request
  --lang <en|fr>     language (default from PIPBINGO_LANG, LC_ALL, LC_MESSAGES, LANG; en)`,
    chatUsage: `Usage: pipbingo chat <command> [options]   (talks to the daemon's IPC)
  send <peer> <message…>    send one message
  file <peer> <path>        send a file from the bridge's send folders (--send-dir; default <data-dir>/outbox) (--chunk-size, default 65536)
  listen                    print what arrives (messages, files, peers) until Ctrl-C
  with <peer>               chat: each line you type goes to <peer>, what arrives is printed
  peers                     the connected peers and their names
  contacts                  the contacts
  keys <peer>               negotiate post-quantum keys with <peer> (then everything is end-to-end encrypted)
Options:
  --ipc <host:port>         the daemon's IPC (default 127.0.0.1:8889, env PIPBINGO_IPC)
  --chunk-size <bytes>      file: the chunk size
  --json                    print the IPC's JSON
  --lang <en|fr>            language (default from PIPBINGO_LANG, LC_ALL, LC_MESSAGES, LANG; en)`,
    unknownCommand: (command: string) => `Unknown command "${command}"`,
    unknownChatCommand: (command: string) => `Unknown chat command "${command}"`,
    badLang: (value: string, langs: string) => `--lang: expected one of ${langs}, not "${value}"`,
    usageOf: (usage: string) => `Usage: pipbingo ${usage}`,
    whichFile: (command: string) => `Which file? pipbingo ${command} <file>${command === 'download' ? ' (see: pipbingo ls)' : ''}`,
    daemonDown: (base: string, why: string) => `The daemon does not answer at ${base} (${why}). Start it with: npm run bridge`,
    ipcDown: (address: string, why: string) => `The daemon's IPC does not answer at ${address} (${why}). Start it with: npm run bridge`,
    notIpcAddress: (address: string) => `Not an IPC address: ${address} (expected host:port, e.g. 127.0.0.1:8889)`,
    ipcClosed: 'The daemon closed the IPC connection',
    refused: 'The daemon refused',
    sent: (file: string, peer: string, size: string, sha: string) => `✓ ${file} sent to ${peer} (${size}, sha256 ${sha}…)`,
    received: (peer: string, file: string, size: string, savedAs: string) => `📎 ${peer} sent ${file} (${size}): saved as ${savedAs}`,
    fileFailed: (file: string, incoming: boolean, peer: string, error: string) => `❌ ${file} (${incoming ? 'from' : 'to'} ${peer}): ${error}`,
    joined: (peer: string) => `→ ${peer} joined`,
    left: (peer: string) => `← ${peer} left`,
    keysNegotiatedWith: (peer: string, fingerprint: string) => `🔑 keys negotiated with ${peer} (fingerprint ${fingerprint})`,
    keysNegotiated: (peer: string, algorithm: string, fingerprint: string) => `🔑 ${peer}: keys negotiated (${algorithm}); fingerprint ${fingerprint}`,
    p2pRunning: (running: boolean) => `P2P ${running ? 'started' : 'stopped'}`,
    noPeer: 'No peer connected.',
    peersHeader: ['name', 'peer id', 'since', '🔒'],
    yes: 'yes',
    noContact: 'No contact.',
    contactsHeader: ['name', 'peer id', 'keys', 'fingerprint'],
    negotiated: 'negotiated',
    pinned: 'pinned',
    listening: 'listening, Ctrl-C to stop',
    talkingTo: (peer: string) => `talking to ${peer}, Ctrl-D to stop`
  },
  // the relay's console (relay/main.ts)
  relay: {
    starting: '🚀 pipbingo relay starting…',
    hashing: (file: string, percent: number, size: string) => `   hashing ${file}: ${percent}% of ${size}`,
    skipping: (file: string, reason: string) => `   skipping ${file}: ${reason}`,
    manifested: (hashed: number, cached: number) => `   manifested ${hashed} new file${hashed === 1 ? '' : 's'}, ${cached} unchanged`,
    cannotStart: (reason: string) => `❌ cannot start the relay: ${reason}`,
    portsInUse: ' (is another relay running? change ports with --http-port, --tcp-port, --ws-port)',
    peerId: (id: string) => `📡 relay peer id ${id}`,
    listening: (addr: string) => `   listening on ${addr}`,
    library: (n: number, dir: string, files: string) => `🎬 ${n} video${n === 1 ? '' : 's'} in ${dir}: ${files}`,
    published: (n: number) => `   and ${n} published from browsers (listed while peers hold them)`,
    open: (url: string) => `✅ open ${url}/   (catalogue: ${url}/list)`,
    certificate: (names: string, validTo: string, fingerprint: string) => `🔒 HTTPS and WSS with the certificate for ${names}, valid until ${validTo} (SHA-256 ${fingerprint})`,
    /** Why the certificate was reloaded when its files changed (SIGHUP is said as is). */
    certificateFilesChanged: 'the files changed',
    certificateReloaded: (reason: string, names: string, validTo: string, fingerprint: string) => `🔒 TLS certificate reloaded (${reason}): ${names}, valid until ${validTo} (SHA-256 ${fingerprint})`,
    peerRelayUp: (id: string) => `🔗 peer relay ${id} connected: its library is listed here`,
    stopping: (signal: string) => `\n${signal}: stopping the relay…`,
    forcedExit: 'forced exit',
    unhandled: (reason: string) => `❌ unhandled rejection, the relay keeps running: ${reason}`
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
  nameRegistered: (name) => `📇 Nom « ${name} » enregistré auprès du relais : les autres bridges peuvent le joindre par ce nom`,
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
  downloadFailedDiskFull: (file, code, kept, total) => `❌ Échec du téléchargement: ${file}: le disque du cache est plein (${code}). ${kept} sur ${total} gardés : libérez de la place et redemandez-le, il reprendra là`,
  downloadFailedNoSource: (file) => `❌ Échec du téléchargement: ${file}: aucun pair ni l'origine n'a ce fichier`,
  lookingForSource: (file) => `🔎 Recherche d'un pair ou de l'origine qui a ${file} (sans occuper d'emplacement de téléchargement)`,
  downloadCancelled: (file) => `🛑 Téléchargement annulé: ${file}`,
  cacheDamaged: (file, lost, total) => `⚠️  ${file} est endommagé dans le cache: ${lost} chunks sur ${total} ne correspondent pas à leur empreinte; ils ne sont plus servis et sont téléchargés de nouveau`,
  restStarted: 'Téléchargement démarré',
  restQueued: 'En file d\'attente: les emplacements de téléchargement sont occupés',
  restWaitingForSource: 'En file d\'attente: aucun pair ni l\'origine n\'a encore ce fichier ; échec si aucun ne se présente',
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
  },
  cli: {
    usage: `Usage : pipbingo <commande> [options]
  download <fichier>…   télécharger des vidéos du catalogue dans le cache du daemon, avec une barre de progression
  status                tous les téléchargements que le daemon connaît
  stats                 les compteurs P2P du daemon
  ls                    le catalogue du relais (● = dans le cache)
  cancel <fichier>…     annuler un téléchargement et supprimer son fichier partiel
  watch                 les barres de tous les téléchargements en cours
  chat …                messages, fichiers, contacts et clés par l'IPC du daemon (pipbingo chat --help)
Options :
  --api <url>           l'API REST du daemon (par défaut http://127.0.0.1:9090, env PIPBINGO_API)
  --json                afficher le JSON de l'API
  --detach              download : rendre la main dès que le daemon a la demande
  --lang <en|fr>        langue (par défaut d'après PIPBINGO_LANG, LC_ALL, LC_MESSAGES, LANG ; en)`,
    chatUsage: `Usage : pipbingo chat <commande> [options]   (parle à l'IPC du daemon)
  send <pair> <message…>    envoyer un message
  file <pair> <chemin>      envoyer un fichier des dossiers d'envoi du bridge (--send-dir ; par défaut <data-dir>/outbox) (--chunk-size, par défaut 65536)
  listen                    afficher ce qui arrive (messages, fichiers, pairs) jusqu'à Ctrl-C
  with <pair>               discuter : chaque ligne tapée part vers <pair>, ce qui arrive s'affiche
  peers                     les pairs connectés et leurs noms
  contacts                  les contacts
  keys <pair>               négocier des clés post-quantiques avec <pair> (tout est ensuite chiffré de bout en bout)
Options :
  --ipc <hôte:port>         l'IPC du daemon (par défaut 127.0.0.1:8889, env PIPBINGO_IPC)
  --chunk-size <octets>     file : la taille des morceaux
  --json                    afficher le JSON de l'IPC
  --lang <en|fr>            langue (par défaut d'après PIPBINGO_LANG, LC_ALL, LC_MESSAGES, LANG ; en)`,
    unknownCommand: (command) => `Commande inconnue « ${command} »`,
    unknownChatCommand: (command) => `Commande de chat inconnue « ${command} »`,
    badLang: (value, langs) => `--lang : une valeur parmi ${langs} attendue, pas « ${value} »`,
    usageOf: (usage) => `Usage : pipbingo ${usage}`,
    whichFile: (command) => `Quel fichier ? pipbingo ${command} <fichier>${command === 'download' ? ' (voir : pipbingo ls)' : ''}`,
    daemonDown: (base, why) => `Le daemon ne répond pas sur ${base} (${why}). Démarrez-le avec : npm run bridge`,
    ipcDown: (address, why) => `L'IPC du daemon ne répond pas sur ${address} (${why}). Démarrez-le avec : npm run bridge`,
    notIpcAddress: (address) => `Pas une adresse IPC : ${address} (attendu hôte:port, p. ex. 127.0.0.1:8889)`,
    ipcClosed: 'Le daemon a fermé la connexion IPC',
    refused: 'Le daemon a refusé',
    sent: (file, peer, size, sha) => `✓ ${file} envoyé à ${peer} (${size}, sha256 ${sha}…)`,
    received: (peer, file, size, savedAs) => `📎 ${peer} a envoyé ${file} (${size}) : enregistré sous ${savedAs}`,
    fileFailed: (file, incoming, peer, error) => `❌ ${file} (${incoming ? 'de' : 'pour'} ${peer}) : ${error}`,
    joined: (peer) => `→ ${peer} est arrivé`,
    left: (peer) => `← ${peer} est parti`,
    keysNegotiatedWith: (peer, fingerprint) => `🔑 clés négociées avec ${peer} (empreinte ${fingerprint})`,
    keysNegotiated: (peer, algorithm, fingerprint) => `🔑 ${peer} : clés négociées (${algorithm}) ; empreinte ${fingerprint}`,
    p2pRunning: (running) => `P2P ${running ? 'démarré' : 'arrêté'}`,
    noPeer: 'Aucun pair connecté.',
    peersHeader: ['nom', 'peer id', 'depuis', '🔒'],
    yes: 'oui',
    noContact: 'Aucun contact.',
    contactsHeader: ['nom', 'peer id', 'clés', 'empreinte'],
    negotiated: 'négociées',
    pinned: 'épinglée',
    listening: 'à l\'écoute, Ctrl-C pour arrêter',
    talkingTo: (peer) => `en conversation avec ${peer}, Ctrl-D pour arrêter`
  },
  relay: {
    starting: '🚀 démarrage du relais pipbingo…',
    hashing: (file, percent, size) => `   analyse de ${file} : ${percent}% de ${size}`,
    skipping: (file, reason) => `   ${file} ignoré : ${reason}`,
    manifested: (hashed, cached) => `   ${hashed} nouveau(x) fichier(s) analysé(s), ${cached} inchangé(s)`,
    cannotStart: (reason) => `❌ impossible de démarrer le relais : ${reason}`,
    portsInUse: ' (un autre relais tourne-t-il ? changez les ports avec --http-port, --tcp-port, --ws-port)',
    peerId: (id) => `📡 peer id du relais ${id}`,
    listening: (addr) => `   à l'écoute sur ${addr}`,
    library: (n, dir, files) => `🎬 ${n} vidéo(s) dans ${dir} : ${files}`,
    published: (n) => `   et ${n} publiée(s) depuis des navigateurs (listées tant que des pairs les ont)`,
    open: (url) => `✅ ouvrez ${url}/   (catalogue : ${url}/list)`,
    certificate: (names, validTo, fingerprint) => `🔒 HTTPS et WSS avec le certificat de ${names}, valable jusqu'au ${validTo} (SHA-256 ${fingerprint})`,
    certificateFilesChanged: 'les fichiers ont changé',
    certificateReloaded: (reason, names, validTo, fingerprint) => `🔒 certificat TLS rechargé (${reason}) : ${names}, valable jusqu'au ${validTo} (SHA-256 ${fingerprint})`,
    peerRelayUp: (id) => `🔗 relais pair ${id} connecté : sa bibliothèque est listée ici`,
    stopping: (signal) => `\n${signal} : arrêt du relais…`,
    forcedExit: 'arrêt forcé',
    unhandled: (reason) => `❌ rejet non géré, le relais continue : ${reason}`
  }
}

const CATALOGUE: Record<Lang, Messages> = { en, fr }

export function messages (lang: Lang): Messages {
  return CATALOGUE[lang]
}
