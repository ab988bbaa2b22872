import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { digest } from '../helpers/content'
import { nextEvent, postDownload } from '../helpers/bridge'
import { gatedRelay } from './origin-gate'

const NAME = 'video_resume.mp4'
const CHUNKS = 16
const CHUNK = 256 * 1024

describe('kill -9 at 50 % and restart: the download resumes from the persisted chunks', () => {
  // in French: the seed's expected output, word for word
  const rig = gatedRelay(NAME, (CHUNKS - 1) * CHUNK + 5000, 31)

  it('re-fetches nothing it had stored, completes, and the file verifies', async () => {
    // the origin lets exactly half the chunks out, then holds the rest
    rig.gate.allow(rig.content.contentId, CHUNKS / 2)
    const first = await rig.spawn('fr')
    // the seed's "Sortie attendue"
    const relayId = rig.relay.relay.node.peerId.toString()
    expect(first.output).toEqual(expect.arrayContaining([
      '🔗 Nœud P2P client démarré', expect.stringMatching(/^ {3}ID: 12D3KooW\w+$/), expect.stringMatching(/^ {3}Port: \d+$/),
      `✅ Connecté au serveur P2P: ${relayId}`, '🌱 Seeding de 0 fichiers existants', '✅ Daemon initialisé avec succès',
      expect.stringMatching(/^🌐 API locale démarrée sur http:\/\/localhost:\d+$/)
    ]))
    const half = nextEvent(first.url, (event, s: any) => event === 'progress' && s.filename === NAME && s.chunks_downloaded === CHUNKS / 2)
    expect((await postDownload(first.url, NAME)).body.status).toBe('started')
    expect((await half).progress).toBeGreaterThanOrEqual(49)
    first.child.kill('SIGKILL')
    await first.exited
    const leftTheOrigin = rig.gate.passed.get(rig.content.contentId) ?? 0
    expect(leftTheOrigin).toBe(CHUNKS / 2)
    const partial = await readdir(join(rig.dir, 'cache'))
    expect(partial).toContain(`${NAME}.part`)

    // restart on the same cache: the partial is queued again at once, from what its bitfield holds
    const second = await rig.spawn('fr')
    expect(second.output.some(l => l.includes('1 téléchargement(s) interrompu(s) repris'))).toBe(true)
    expect(second.output.some(l => l.includes(`Reprise du téléchargement P2P: ${NAME} (${CHUNKS / 2}/${CHUNKS} chunks`))).toBe(true)
    const resumed = (await (await fetch(`${second.url}/status`)).json())[NAME]
    expect(resumed.status).toBe('downloading')
    const persisted = resumed.chunks_downloaded
    // every chunk that left the origin was stored: bytes re-fetched ≤ one chunk per request in flight (here none)
    expect(leftTheOrigin - persisted).toBeLessThanOrEqual(0)
    expect(resumed.bytes_downloaded).toBe(persisted * CHUNK)

    const seeding = nextEvent(second.url, (event, d: any) => event === 'state' && d.status.filename === NAME && d.to === 'seeding')
    rig.gate.open(rig.content.contentId)
    await seeding
    const stats = await (await fetch(`${second.url}/stats`)).json()
    // the second run fetched exactly what was missing
    expect(stats.bytes_from_peers + stats.bytes_from_origin).toBe(rig.content.manifest.size - persisted * CHUNK)
    expect(digest(await readFile(join(rig.dir, 'cache', NAME)))).toBe(digest(rig.content.bytes))
    expect(await readdir(join(rig.dir, 'cache'))).not.toContain(`${NAME}.part`)
    expect(digest(new Uint8Array(await (await fetch(`${second.url}/stream/${NAME}`)).arrayBuffer()))).toBe(digest(rig.content.bytes))

    // a clean stop (SIGTERM) exits the process: node-datachannel released
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  }, 60_000)
})
