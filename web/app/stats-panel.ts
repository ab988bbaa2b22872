import type { TabStats } from '../peer/tab-stats'

const COLOURS: Record<string, string> = {
  '.': '#2a3039', // missing
  '~': '#5b6b80', // in flight
  P: '#3ecf8e', // from a peer
  O: '#f5a524', // from the origin (libp2p)
  H: '#e5484d', // from the origin (HTTP)
  C: '#8b95a5' // from the cache
}

function mb (bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`
}

function rate (bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(2)} MB/s`
}

/**
 * The P2P overlay of the page: peer id, relay, peers, bytes from peers vs
 * the origin, speeds, and the chunk map of the current video (a picture:
 * one cell per chunk, coloured by where it came from).
 */
export class StatsPanel {
  constructor (private readonly root: HTMLElement, private readonly canvas: HTMLCanvasElement) {}

  render (s: TabStats): void {
    const total = s.bytesFromPeers + s.bytesFromOrigin
    const share = total === 0 ? '—' : `${Math.round((100 * s.bytesFromPeers) / total)} % from peers`
    const rows: Array<[string, string]> = [
      ['peer', `${s.peerId.slice(0, 16)}… (profile ${s.profile})`],
      ['relay', s.relay.connected ? 'connected' : 'reconnecting…'],
      ['peers', s.peers.length === 0 ? 'none yet' : s.peers.map(p => `${p.id.slice(-6)} ${p.transport}${p.direct ? '' : ' (relayed)'}`).join(', ')],
      ['↓ from peers', mb(s.bytesFromPeers)],
      ['↓ from origin', `${mb(s.bytesFromOrigin)} (HTTP ${mb(s.bytesFromHttp)})`],
      ['share', share],
      ['↑ uploaded', mb(s.bytesUploaded)],
      ['speed', `↓ ${rate(s.downloadRate)} · ↑ ${rate(s.uploadRate)}`]
    ]
    this.root.replaceChildren(...rows.map(([k, v]) => {
      const dt = document.createElement('dt')
      dt.textContent = k
      const dd = document.createElement('dd')
      dd.textContent = v
      return [dt, dd]
    }).flat())
    this.drawMap(s.current?.map ?? '')
  }

  private drawMap (map: string): void {
    const ctx = this.canvas.getContext('2d')
    if (ctx == null) return
    const { width, height } = this.canvas
    ctx.clearRect(0, 0, width, height)
    if (map.length === 0) return
    const cell = width / map.length
    for (let i = 0; i < map.length; i++) {
      ctx.fillStyle = COLOURS[map[i] as string] ?? '#000'
      ctx.fillRect(Math.floor(i * cell), 0, Math.max(1, Math.ceil(cell) - (cell > 3 ? 1 : 0)), height)
    }
  }
}
