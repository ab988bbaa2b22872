import { openTab } from '../lib/browser-tabs'
import { percentile } from '../lib/stats'
import type { Row } from '../types'
import type { BrowserEnv } from './browser'

const SUITE = 'browser'
/** Messages (and pings) timed per run, after one warm-up of each. */
const MESSAGES = 100
/**
 * Between two messages, ms: under the receiving tab's rate limit (5
 * exchanges a second per peer after a burst of 30, web/peer/chat/rate-limit.ts),
 * which a back-to-back loop would hit. Latency, not throughput, is measured.
 */
const PACE_MS = 250

/**
 * Issue 15's row: a chat message tab → tab, timed in the sending page from
 * `chat.send()` to its resolution (the peer's ACK: a new stream, the
 * MESSAGE frame sealed with AES-256-GCM, opened and acknowledged, the
 * history written on both sides), against a libp2p ping on the same
 * connection, interleaved one for one, one message every PACE_MS. Two
 * fresh tabs, one in each browser process; keys are negotiated and the
 * connection made by a first message that is not counted.
 */
export async function chatRows (env: BrowserEnv): Promise<Row[]> {
  const { ctx, browserA, browserB, origin } = env
  const receiver = await openTab(browserA, `${origin}/network`)
  const tab = await openTab(browserB, `${origin}/network`).catch(async (err) => { await receiver.close(); throw err })
  try {
    const receiverId = (await receiver.page.evaluate(() => (window.pipbingo.stats() as any).peerId)) as string
    ctx.progress(`${SUITE}: ${MESSAGES} chat messages and pings, tab B → tab A`)
    const got = await tab.page.evaluate(async ({ to, n, pace }) => {
      const first = await window.pipbingo.chat.send(to, 'warm-up')
      if (first.state !== 'delivered') throw new Error(`the first message was not delivered: ${first.error ?? first.state}`)
      await window.pipbingo.chat.ping(to)
      const message: number[] = []
      const ping: number[] = []
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        const sent = await window.pipbingo.chat.send(to, `message ${i}`)
        message.push(performance.now() - t0)
        if (sent.state !== 'delivered' || !sent.encrypted) throw new Error(`message ${i}: ${sent.state} ${sent.error ?? ''}`)
        ping.push(await window.pipbingo.chat.ping(to))
        await new Promise(resolve => setTimeout(resolve, pace))
      }
      const link = ((window.pipbingo.stats() as any)?.peers ?? []).filter((p: any) => p.id === to).map((p: any) => `${p.transport}${p.direct === true ? '' : ' (relayed)'}`).join(' + ')
      return { message, ping, link }
    }, { to: receiverId, n: MESSAGES, pace: PACE_MS })
    const notes = `${MESSAGES} messages, each followed by a ping, one every ${PACE_MS} ms (under the receiver's rate limit), after one of each as a warm-up (key negotiation, connection); connections B → A: ${got.link || 'none'}`
    const row = (p: number): Row => {
      const value = percentile(got.message, p)
      const baseline = percentile(got.ping, p)
      return {
        suite: SUITE,
        name: `chat message tab → tab (one browser process → another), sealed, send → ACK, p${p}`,
        value,
        unit: 'ms',
        baseline,
        baselineName: `libp2p ping on the same connection, p${p}`,
        ratio: value / baseline,
        notes
      }
    }
    return [row(50), row(99)]
  } finally {
    await tab.close()
    await receiver.close()
  }
}
