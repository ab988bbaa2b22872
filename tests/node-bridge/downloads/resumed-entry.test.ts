import { describe, expect, it } from 'vitest'
import { DownloadJob, type JobSource } from '../../../node-bridge/downloads/job'
import { makeContent } from '../../helpers/content'

/**
 * A download found in the cache at start knows its content, not its name at
 * the origin nor whether the relay has its bytes: its run asks the
 * catalogue first. The source here is the job's boundary (what bridge.ts
 * wires to the relay's /list and a SwarmSession); the session it would
 * start is captured, not run.
 */
type SessionInit = Parameters<JobSource['session']>[0]

async function firstRun (entry: JobSource['entry'], catalogued?: { originHttp: boolean }): Promise<SessionInit> {
  const { manifest, contentId } = await makeContent(3000, { name: 'cached-name.mp4' })
  const job = new DownloadJob({ filename: 'cached-name.mp4', remoteName: manifest.name, contentId, manifest, state: 'queued', ...catalogued })
  let captured: SessionInit | undefined
  const source: JobSource = {
    manifest: async () => manifest,
    entry,
    session: (init) => { captured = init; throw new Error('captured') }
  }
  await expect(job.run(source, () => {})).rejects.toThrow('captured')
  return captured!
}

describe('a resumed download asks the catalogue before it runs', () => {
  it('the relay lists it from its library: HTTP by the name the relay gives', async () => {
    const init = await firstRun(async () => ({ filename: 'relay-name.mp4', origin: true }))
    expect([init.remoteName, init.originHttp]).toEqual(['relay-name.mp4', true])
  })

  it('only peers or another relay hold it: no HTTP fallback (its /videos would answer 404)', async () => {
    const init = await firstRun(async () => ({ filename: 'relay-name.mp4', origin: false }))
    expect(init.originHttp).toBe(false)
  })

  it('the relay lists it no more: no HTTP fallback', async () => {
    const init = await firstRun(async () => undefined)
    expect([init.remoteName, init.originHttp]).toEqual(['cached-name.mp4', false])
  })

  it('the catalogue cannot be reached: the guess, as before (the cached name, HTTP on)', async () => {
    const init = await firstRun(async () => { throw new Error('The relay at http://127.0.0.1:1 cannot be reached') })
    expect([init.remoteName, init.originHttp]).toEqual(['cached-name.mp4', true])
  })

  it('a download from the catalogue does not ask again', async () => {
    let asked = 0
    const init = await firstRun(async () => { asked++; return undefined }, { originHttp: true })
    expect([asked, init.originHttp]).toEqual([0, true])
  })
})

