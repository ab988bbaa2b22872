import { z } from 'zod'
import type { DownloadReply } from '../rest/downloads'
import type { DownloadStatus } from '../downloads/status'
import type { BridgeStats } from '../stats'
import { CliError } from './errors'
import { messages, type Lang } from '../messages'

export type StatusMap = Record<string, DownloadStatus>

const errorSchema = z.object({ error: z.string() })

/** The bridge's REST API as the CLI uses it; every failure is a CliError with a readable message. */
export class ApiClient {
  constructor (readonly base: string, private readonly fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis), private readonly lang: Lang = 'en') {}

  async health (): Promise<string> {
    return await (await this.request('/health')).text()
  }

  async stats (): Promise<BridgeStats> {
    return await (await this.request('/stats')).json() as BridgeStats
  }

  async status (): Promise<StatusMap> {
    return await (await this.request('/status')).json() as StatusMap
  }

  async list (): Promise<Array<{ filename: string, size: number, cached: boolean, title?: string }>> {
    return await (await this.request('/list')).json() as Array<{ filename: string, size: number, cached: boolean, title?: string }>
  }

  async download (filename: string): Promise<DownloadReply> {
    const response = await this.request('/download', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ filename })
    })
    return await response.json() as DownloadReply
  }

  async cancel (filename: string): Promise<{ status: string, message: string }> {
    return await (await this.request(`/download/${encodeURIComponent(filename)}`, { method: 'DELETE' })).json() as { status: string, message: string }
  }

  /** The raw `/events` response (server-sent events). */
  async events (signal: AbortSignal): Promise<Response> {
    return await this.request('/events', { signal, headers: { accept: 'text/event-stream' } })
  }

  private async request (path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response
    try {
      response = await this.fetchImpl(`${this.base}${path}`, { signal: AbortSignal.timeout(15_000), ...init })
    } catch (err: any) {
      if (err?.name === 'AbortError' && init.signal?.aborted === true) throw err
      throw new CliError(messages(this.lang).cli.daemonDown(this.base, String(err?.cause?.code ?? err?.message)))
    }
    if (response.ok) return response
    const text = await response.text()
    let message = text
    try {
      message = errorSchema.parse(JSON.parse(text)).error
    } catch {}
    throw new CliError(`${response.status}: ${message}`, response.status)
  }
}
