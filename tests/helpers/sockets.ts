/** An established TCP connection as `ss` shows it from one end. */
export interface TcpConnection {
  local: { address: string, port: number }
  peer: { address: string, port: number }
  /** The processes holding the socket (`ss -p`: all of them for root, one's own otherwise). */
  pids: number[]
}

/** The arguments of `ss` whose output `parseSs` reads. */
export const SS_ESTABLISHED = ['-H', '-t', '-n', '-p', 'state', 'established']

/**
 * Lines of `ss -Htnp state established`:
 * `Recv-Q Send-Q Local:Port Peer:Port users:(("node",pid=1,fd=2),…)`.
 */
export function parseSs (text: string): TcpConnection[] {
  const out: TcpConnection[] = []
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 4) continue
    const local = endpoint(fields[2]!)
    const peer = endpoint(fields[3]!)
    if (local == null || peer == null) continue
    const pids = [...fields.slice(4).join(' ').matchAll(/pid=(\d+)/g)].map(m => Number(m[1]))
    out.push({ local, peer, pids })
  }
  return out
}

/** `10.0.0.1:80`, `[::1]:80`, `[::ffff:10.0.0.1]:80` (an IPv4 peer of a dual-stack socket), `[fe80::1%eth0]:80`. */
function endpoint (text: string): { address: string, port: number } | undefined {
  const m = /^(?:\[(.+)\]|([^[\]]+)):(\d+)$/.exec(text)
  if (m == null) return undefined
  const address = (m[1] ?? m[2]!).replace(/^::ffff:(?=\d+\.)/, '').replace(/%.*$/, '')
  return { address, port: Number(m[3]) }
}
