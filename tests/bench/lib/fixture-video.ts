import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
/** Generated videos are cached here (git ignores `.tmp/`): made once, reused by every bench run. */
export const FIXTURE_CACHE_DIR = join(repoRoot, '.tmp', 'fixtures')

export interface FixtureVideoSpec {
  seconds: number
  width: number
  height: number
  fps: number
  /** Video bitrate, kbit/s (x264 ABR with maxrate = this, so the size follows the duration). */
  videoKbps: number
  audioKbps: number
  /** The accepted size, bytes: a file outside it means the encoder did not do what the spec says. */
  minBytes: number
  maxBytes: number
}

/**
 * The second-viewer video: 3 minutes of 1280×720 at 25 fps, H.264 Main at
 * 1.2 Mbit/s (maxrate 1.2 Mbit/s) + AAC-LC 96 kbit/s stereo, moov first
 * (+faststart), a keyframe every second: about 30 MB (≈ 116 chunks of 256 KiB).
 */
export const SECOND_VIEWER_VIDEO: FixtureVideoSpec = {
  seconds: 180,
  width: 1280,
  height: 720,
  fps: 25,
  videoKbps: 1200,
  audioKbps: 96,
  minBytes: 26_000_000,
  maxBytes: 34_000_000
}

export interface FixtureVideo {
  path: string
  size: number
  spec: FixtureVideoSpec
  /** True when this call encoded it (false: it was in the cache). */
  made: boolean
  /** How long the encoding took, ms (0 from the cache). */
  ms: number
}

/** ffmpeg's arguments for `spec`, writing to `out`. Deterministic: one x264 thread, no timestamps or encoder tags (bitexact). */
export function ffmpegArgs (spec: FixtureVideoSpec, out: string): string[] {
  const { seconds, width, height, fps, videoKbps, audioKbps } = spec
  const box = Math.round(height / 6)
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    // testsrc2 has its own moving parts and a clock; an orange square bounces over it; a 440 Hz tone beeps once a second
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
    '-f', 'lavfi', '-i', `color=c=orange:size=${box}x${box}:rate=${fps}:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:beep_factor=2:sample_rate=48000:duration=${seconds}`,
    '-filter_complex', "[0:v][1:v]overlay=x='abs(mod(t*240\\,2*(W-w))-(W-w))':y='(H-h)/2+(H-h)/2*sin(t*1.7)',format=yuv420p[v];[2:a]aformat=channel_layouts=stereo[a]",
    '-map', '[v]', '-map', '[a]',
    '-c:v', 'libx264', '-threads', '1', '-profile:v', 'main', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
    '-b:v', `${videoKbps}k`, '-maxrate', `${videoKbps}k`, '-bufsize', `${2 * videoKbps}k`,
    '-g', String(fps), '-keyint_min', String(fps), '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', `${audioKbps}k`, '-ar', '48000',
    '-map_metadata', '-1', '-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact',
    '-movflags', '+faststart',
    '-t', String(seconds),
    '-f', 'mp4',
    out
  ]
}

/**
 * The video `spec` describes, at `.tmp/fixtures/<name>-<hash of the ffmpeg arguments>.mp4`:
 * encoded with ffmpeg the first time (a minute or so on one core), taken
 * from the cache after. Written to a temporary name and renamed, so a run
 * stopped midway leaves no half file under the final name. Fails with how
 * to install ffmpeg when it is missing.
 */
export async function fixtureVideo (name: string, spec: FixtureVideoSpec, progress?: (message: string) => void): Promise<FixtureVideo> {
  const key = createHash('sha256').update(JSON.stringify(ffmpegArgs(spec, 'OUT'))).digest('hex').slice(0, 12)
  const path = join(FIXTURE_CACHE_DIR, `${name}-${key}.mp4`)
  const cached = await stat(path).catch(() => undefined)
  if (cached != null) {
    check(path, cached.size, spec)
    return { path, size: cached.size, spec, made: false, ms: 0 }
  }
  const ffmpeg = await findFfmpeg()
  await mkdir(FIXTURE_CACHE_DIR, { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  progress?.(`encoding ${path} (${spec.seconds} s of ${spec.width}×${spec.height}, ${spec.videoKbps + spec.audioKbps} kbit/s) with ffmpeg, once; later runs take it from the cache`)
  const started = performance.now()
  try {
    await run(ffmpeg, ffmpegArgs(spec, tmp), { maxBuffer: 16 * 1024 * 1024 })
    const size = (await stat(tmp)).size
    check(tmp, size, spec)
    await rename(tmp, path)
    return { path, size, spec, made: true, ms: performance.now() - started }
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim()
    throw new Error(`ffmpeg failed to make ${path}: ${stderr !== '' ? stderr : (err as Error).message}`)
  } finally {
    await rm(tmp, { force: true })
  }
}

function check (path: string, size: number, spec: FixtureVideoSpec): void {
  if (size < spec.minBytes || size > spec.maxBytes) {
    throw new Error(`${path} is ${size} bytes, outside ${spec.minBytes}–${spec.maxBytes}: delete it and check the ffmpeg arguments (tests/bench/lib/fixture-video.ts)`)
  }
}

/** `ffmpeg` on the PATH with libx264, or an error saying how to install it. */
async function findFfmpeg (): Promise<string> {
  let encoders: string
  try {
    encoders = (await run('ffmpeg', ['-hide_banner', '-encoders'], { maxBuffer: 4 * 1024 * 1024 })).stdout
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('The bench and the second-viewer test make their ~30 MB video with ffmpeg, which is not installed: apt-get install -y ffmpeg (Debian/Ubuntu; Fedora: dnf install ffmpeg; macOS: brew install ffmpeg). It is needed once: the video is cached under .tmp/fixtures/.')
    }
    throw err
  }
  if (!/\blibx264\b/.test(encoders)) throw new Error('ffmpeg has no libx264 encoder: install a build with it (Debian: apt-get install -y ffmpeg).')
  return 'ffmpeg'
}

// `tsx tests/bench/lib/fixture-video.ts`: make (or find) the video and print its path
if (process.argv[1] != null && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  fixtureVideo('second-viewer', SECOND_VIEWER_VIDEO, m => { process.stderr.write(`${m}\n`) }).then(v => {
    process.stdout.write(`${v.path} (${v.size} bytes${v.made ? `, encoded in ${(v.ms / 1000).toFixed(1)} s` : ', cached'})\n`)
  }, (err: Error) => {
    process.stderr.write(`${err.message}\n`)
    process.exit(1)
  })
}
