import { basename } from 'node:path'
import type { Relay } from '../../../relay/relay'
import { startWebRig, type WebRig } from '../../helpers/web'
import type { BenchContext } from '../types'
import { fixtureVideo, SECOND_VIEWER_VIDEO } from './fixture-video'

/**
 * Wait until the relay's tracker lists no holder of `contentId` other than
 * the origin itself and `allowed` (peer ids). A closed tab leaves the tracker
 * when its connection to the relay goes; waiting for that keeps a measurement
 * from finding (and dialling) a tab of the one before.
 */
export async function waitForHolders (relay: Relay, contentId: string, allowed: readonly string[], timeoutMs = 10_000): Promise<void> {
  const relayId = relay.node.peerId.toString()
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const others = relay.registry.find(contentId, { limit: 1000 }).filter(p => p.peer !== relayId && !allowed.includes(p.peer))
    if (others.length === 0) return
    if (Date.now() > deadline) throw new Error(`the tracker still lists ${others.map(p => p.peer).join(', ')} as holders ${timeoutMs / 1000} s after their tabs closed`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** Wait until the relay's tracker lists `peer` as a complete holder of `contentId` (its announcement arrived). */
export async function waitForSeeder (relay: Relay, contentId: string, peer: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (relay.registry.find(contentId, { limit: 1000 }).some(p => p.peer === peer && p.complete)) return
    if (Date.now() > deadline) throw new Error(`the tracker does not list ${peer} as a seeder of ${contentId} after ${timeoutMs / 1000} s`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** What the relay's /metrics say the origin has served so far, bytes: chunks over libp2p, video over HTTP. */
export async function originServed (rig: WebRig): Promise<{ libp2p: number, http: number }> {
  return { libp2p: await rig.metric('pipbingo_libp2p_bytes_served_total'), http: await rig.metric('pipbingo_http_bytes_served_total') }
}

/** The fixture video as the relay's library knows it. */
export interface RigVideo {
  filename: string
  contentId: string
  size: number
  /** Chunks of 256 KiB. */
  chunks: number
}

/**
 * The second-viewer's ~30 MB video (fixture-video.ts: made once with
 * ffmpeg, then cached) in the library of a web rig whose browsers each get
 * a network namespace (startWebRig with netns: WebRTC between them over the
 * namespaces' veth addresses): the rig, the video as its relay holds it,
 * and when the rig's start began (performance.now(), after the fixture was
 * ready: an encoding is no part of a suite's time).
 */
export async function startVideoRig (ctx: BenchContext, suite: string): Promise<{ rig: WebRig, video: RigVideo, started: number }> {
  const fixture = await fixtureVideo('second-viewer', SECOND_VIEWER_VIDEO, m => { ctx.progress(`${suite}: ${m}`) })
  if (fixture.made) ctx.progress(`${suite}: encoded ${basename(fixture.path)} (${(fixture.size / 1e6).toFixed(1)} MB) in ${(fixture.ms / 1000).toFixed(0)} s`)
  ctx.progress(`${suite}: building the web app, starting the relay`)
  const started = performance.now()
  const rig = await startWebRig([fixture.path], { netns: true })
  const filename = basename(fixture.path)
  const entry = rig.relay.library.byFilename(filename)
  if (entry == null) {
    await rig.close()
    throw new Error(`the relay's library has no ${filename}`)
  }
  return { rig, started, video: { filename, contentId: entry.contentId, size: fixture.size, chunks: Math.ceil(fixture.size / (256 * 1024)) } }
}
