import type { Page } from 'playwright-core'

export interface RawChannelOptions {
  /** Bytes to send. */
  size: number
  /** Bytes per `send()`: 64 KiB by default (what SCTP in Chromium takes without fragmenting per message). */
  messageSize?: number
  /** The sender waits for `bufferedamountlow` once `bufferedAmount` is above this (4 MiB). */
  highWater?: number
  /** `bufferedAmountLowThreshold` (1 MiB). */
  lowWater?: number
  timeoutMs?: number
}

export interface RawChannelResult {
  bytes: number
  /** From the sender's first `send()` to the receiver's last byte, ms (both pages' clocks are the system clock). */
  ms: number
  /** From the receiver's first message to its last, ms. */
  receiveMs: number
  /** The selected candidate pair, as `local → remote` addresses and protocol. */
  path: string
}

declare global {
  // eslint-disable-next-line no-var
  var __benchRaw: any
}

/**
 * The ceiling of tab→tab transfers: a plain RTCDataChannel between two pages,
 * with no libp2p. Each page gets an RTCPeerConnection with no ICE servers;
 * Node carries the offer and the answer (candidates included: non-trickle,
 * each side waits for gathering to complete) between them with
 * `page.evaluate`, so no server is involved. One ordered, reliable channel;
 * the sender pumps `size` bytes of random data in `messageSize` messages,
 * paced by `bufferedAmount` / `bufferedamountlow`; the receiver counts. Both
 * connections are closed at the end.
 */
export async function rawChannelTransfer (sender: Page, receiver: Page, options: RawChannelOptions): Promise<RawChannelResult> {
  const { size, messageSize = 64 * 1024, highWater = 4 * 1024 * 1024, lowWater = 1024 * 1024, timeoutMs = 120_000 } = options
  try {
    const offer = await sender.evaluate(async () => {
      const pc = new RTCPeerConnection({ iceServers: [] })
      const dc = pc.createDataChannel('bench-raw', { ordered: true })
      dc.binaryType = 'arraybuffer'
      globalThis.__benchRaw = { pc, dc }
      await pc.setLocalDescription(await pc.createOffer())
      if (pc.iceGatheringState !== 'complete') {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => { reject(new Error('ICE gathering did not complete in 10 s')) }, 10_000)
          pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve() } })
        })
      }
      return pc.localDescription!.toJSON() as RTCSessionDescriptionInit
    })
    const answer = await receiver.evaluate(async ({ offer, size }) => {
      const pc = new RTCPeerConnection({ iceServers: [] })
      const state = { bytes: 0, messages: 0, first: 0, last: 0 }
      const done = new Promise<typeof state>(resolve => {
        pc.addEventListener('datachannel', (e) => {
          const dc = e.channel
          dc.binaryType = 'arraybuffer'
          dc.addEventListener('message', (m) => {
            const now = performance.timeOrigin + performance.now()
            if (state.messages === 0) state.first = now
            state.messages++
            state.bytes += (m.data as ArrayBuffer).byteLength
            if (state.bytes >= size) { state.last = now; resolve(state) }
          })
        })
      })
      globalThis.__benchRaw = { pc, done }
      await pc.setRemoteDescription(offer)
      await pc.setLocalDescription(await pc.createAnswer())
      if (pc.iceGatheringState !== 'complete') {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => { reject(new Error('ICE gathering did not complete in 10 s')) }, 10_000)
          pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve() } })
        })
      }
      return pc.localDescription!.toJSON() as RTCSessionDescriptionInit
    }, { offer, size })
    await sender.evaluate(async (answer) => {
      const { pc, dc } = globalThis.__benchRaw as { pc: RTCPeerConnection, dc: RTCDataChannel }
      await pc.setRemoteDescription(answer)
      if (dc.readyState !== 'open') {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => { reject(new Error(`the data channel did not open in 10 s (ICE ${pc.iceConnectionState})`)) }, 10_000)
          dc.addEventListener('open', () => { clearTimeout(timer); resolve() }, { once: true })
        })
      }
    }, answer)

    const received = receiver.evaluate(async (timeoutMs) => {
      const raw = globalThis.__benchRaw as { done: Promise<{ bytes: number, first: number, last: number }> }
      return await Promise.race([raw.done, new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error(`the receiver did not get everything in ${timeoutMs} ms`)) }, timeoutMs))])
    }, timeoutMs)
    received.catch(() => {})
    const started = await sender.evaluate(async ({ size, messageSize, highWater, lowWater }) => {
      const { dc } = globalThis.__benchRaw as { dc: RTCDataChannel }
      const message = new Uint8Array(messageSize)
      for (let off = 0; off < messageSize; off += 65536) crypto.getRandomValues(message.subarray(off, Math.min(messageSize, off + 65536)))
      dc.bufferedAmountLowThreshold = lowWater
      const started = performance.timeOrigin + performance.now()
      for (let sent = 0; sent < size;) {
        if (dc.bufferedAmount > highWater) await new Promise(resolve => dc.addEventListener('bufferedamountlow', resolve, { once: true }))
        const n = Math.min(messageSize, size - sent)
        dc.send(n === messageSize ? message : message.subarray(0, n))
        sent += n
      }
      return started
    }, { size, messageSize, highWater, lowWater })
    const got = await received
    const path = await receiver.evaluate(async () => {
      const { pc } = globalThis.__benchRaw as { pc: RTCPeerConnection }
      const report = await pc.getStats()
      const byId = new Map<string, any>()
      report.forEach((s: any) => { byId.set(s.id, s) })
      const pair = [...byId.values()].find(s => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded')
      const local = byId.get(pair?.localCandidateId)
      const remote = byId.get(pair?.remoteCandidateId)
      return pair == null ? 'unknown' : `${local?.address}:${local?.port} ← ${remote?.address}:${remote?.port} (${local?.protocol}, ${local?.candidateType})`
    })
    return { bytes: got.bytes, ms: got.last - started, receiveMs: got.last - got.first, path }
  } finally {
    for (const page of [sender, receiver]) {
      await page.evaluate(() => {
        const raw = globalThis.__benchRaw as { pc?: RTCPeerConnection } | undefined
        raw?.pc?.close()
        globalThis.__benchRaw = undefined
      }).catch(() => {})
    }
  }
}
