import { DOWNLOAD_STATES } from '../downloads/states'

const int = { type: 'integer', minimum: 0 } as const
const num = { type: 'number', minimum: 0 } as const
const str = { type: 'string' } as const
const time = { type: ['string', 'null'], format: 'date-time' } as const
const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: unknown, example?: unknown): unknown => ({ 'application/json': { schema, ...(example === undefined ? {} : { example }) } })
const error = (description: string): unknown => ({ description, content: json(ref('Error')) })
const filename = { name: 'filename', in: 'path', required: true, description: 'A catalogue filename (a label, never a path: no `/`, `\\`, `..`, control characters; 200 characters at most)', schema: { type: 'string', maxLength: 200 } }
const common = { 403: error('A page from an origin other than the app\'s (the relay\'s, and each --allow-origin); a page\'s POST or DELETE without the X-Pipbingo-Token header'), 405: error('Another method is expected') }

const statusExample = {
  filename: 'video_1234567890.mp4', status: 'seeding', progress: 100, bytes_downloaded: 11534336, total_bytes: 11534336,
  peers_connected: 1, download_speed: 1200.15, started_at: '2025-11-21T10:45:00Z', completed_at: '2025-11-21T10:45:12Z',
  title: 'Holiday in Brittany', content_id: 'a37168fa4d3cfcbc33480f0f6b946e16389fc4b378b8082a4e128dbf2c4954df', chunks_downloaded: 44, chunks_total: 44,
  bytes_from_peers: 11010048, bytes_from_origin: 524288, error: null, error_code: null, waiting_for: null
}

/**
 * The OpenAPI 3.1 description of the bridge's REST API. A test requests
 * every path and method here and checks the answers against it.
 */
export function openApiDocument (): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'pipbingo bridge REST API',
      version: '1.0.0',
      description: 'The local daemon of docs/contracts/rest-9090.md: download catalogue videos into ./cache over the P2P swarm, seed them, stream them. Binds to 127.0.0.1. Speeds are KB/s with 1 KB = 1024 bytes. Every error is JSON `{ "error": "..." }`.'
    },
    servers: [{ url: 'http://127.0.0.1:9090' }],
    paths: {
      '/health': {
        get: { summary: 'Liveness', responses: { 200: { description: 'Always `OK`', content: { 'text/plain': { schema: { type: 'string', const: 'OK' } } } }, ...common } }
      },
      '/token': {
        get: {
          summary: 'The per-install API token, for the app\'s own pages: a page sends it in X-Pipbingo-Token with each POST and DELETE (programs without an Origin need none)',
          responses: { 200: { description: 'The token', content: json({ type: 'object', required: ['token'], properties: { token: { type: 'string', pattern: '^[0-9a-f]{64}$' } } }) }, ...common }
        }
      },
      '/stats': {
        get: { summary: 'P2P statistics', responses: { 200: { description: 'Counts and byte totals', content: json(ref('Stats')) }, ...common } }
      },
      '/status': {
        get: {
          summary: 'Every download this daemon knows, keyed by filename (files seeded from the cache included)',
          responses: { 200: { description: 'Object keyed by filename', content: json({ type: 'object', additionalProperties: ref('DownloadStatus') }, { 'video_1234567890.mp4': statusExample }) }, ...common }
        }
      },
      '/download': {
        post: {
          summary: 'Download a catalogue video into the cache (started, or queued when every slot is busy)',
          requestBody: { required: true, content: json(ref('DownloadRequest'), { filename: 'video_1234567890.mp4' }) },
          responses: {
            200: { description: 'Started, queued, or already there (`cached: true`, nothing downloaded again)', content: json(ref('DownloadReply')) },
            400: error('Malformed JSON, a missing or extra field, or an invalid filename'),
            404: error('No catalogue video has this filename'),
            413: error('The body is larger than 64 KiB'),
            415: error('The body is not declared as JSON'),
            502: error('The relay cannot be reached'),
            ...common
          }
        }
      },
      '/download/{filename}': {
        delete: {
          summary: 'Cancel a queued or running download and delete its partial file',
          parameters: [filename],
          responses: {
            200: { description: 'Cancelled', content: json(ref('CancelReply')) },
            400: error('Invalid filename'),
            404: error('No download of that name'),
            409: error('The download is complete (seeding): nothing to cancel'),
            ...common
          }
        }
      },
      '/stream/{filename}': {
        get: {
          summary: 'The file\'s bytes, with ranges; a file still downloading streams too (the range asked for is fetched first)',
          parameters: [filename, { name: 'Range', in: 'header', required: false, schema: { type: 'string', example: 'bytes=0-1023' } }],
          responses: {
            200: { description: 'The whole file', headers: { 'Accept-Ranges': { schema: { type: 'string', const: 'bytes' } } }, content: { 'video/*': { schema: { type: 'string', format: 'binary' } } } },
            206: { description: 'The range asked for', headers: { 'Content-Range': { schema: { type: 'string', example: 'bytes 0-1023/11534336' } } }, content: { 'video/*': { schema: { type: 'string', format: 'binary' } } } },
            400: error('Invalid filename (traversal, separators, control characters, too long)'),
            404: error('Not in the cache and not being downloaded'),
            416: error('The range is outside the file (`Content-Range: bytes */size`)'),
            503: error('Queued, failed or cancelled: not being downloaded'),
            ...common
          }
        }
      },
      '/list': {
        get: {
          summary: 'The relay\'s catalogue, each entry marked cached or not',
          responses: { 200: { description: 'Catalogue entries', content: json({ type: 'array', items: ref('CatalogueEntry') }) }, 502: error('The relay cannot be reached'), ...common }
        }
      },
      '/events': {
        get: {
          summary: 'Server-sent events: `snapshot` (the whole /status), then `state` ({from, to, status, resumed}) and `progress` (a /status entry, at most 4 per second per download)',
          responses: { 200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...common }
        }
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...common } }
      },
      '/openapi.json': {
        get: { summary: 'This description', responses: { 200: { description: 'OpenAPI 3.1', content: json({ type: 'object', required: ['openapi', 'paths'] }) }, ...common } }
      }
    },
    components: {
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: str } },
        DownloadRequest: { type: 'object', required: ['filename'], additionalProperties: false, properties: { filename: { type: 'string', maxLength: 200 } } },
        DownloadStatus: {
          type: 'object',
          required: ['filename', 'status', 'progress', 'bytes_downloaded', 'total_bytes', 'peers_connected', 'download_speed', 'started_at', 'completed_at'],
          properties: {
            filename: str,
            status: { type: 'string', enum: [...DOWNLOAD_STATES] },
            progress: { type: 'number', minimum: 0, maximum: 100, description: 'Percentage of the bytes held' },
            bytes_downloaded: int,
            total_bytes: int,
            peers_connected: { ...int, description: 'Sources that delivered chunks (peers, the origin\'s node, the origin over HTTP)' },
            download_speed: { ...num, description: 'KB/s (1 KB = 1024 B): moving average over 5 s while downloading, average of the whole download once done' },
            started_at: { ...time, description: 'ISO 8601 UTC; null while queued' },
            completed_at: { ...time, description: 'ISO 8601 UTC; null until done' },
            title: { type: ['string', 'null'], description: 'The catalogue\'s title (an upload\'s original name); null for a file found in the cache at start-up' },
            content_id: { type: ['string', 'null'] },
            chunks_downloaded: int,
            chunks_total: int,
            bytes_from_peers: int,
            bytes_from_origin: int,
            error: { type: ['string', 'null'], description: 'Why it failed (English), when `status` is `failed`' },
            error_code: { type: ['string', 'null'], enum: ['disk_full', 'no_source', 'other', null], description: 'Why it failed, in a word, when `status` is `failed`: `disk_full` (the partial file is kept: ask again once there is room, it resumes), `no_source` (no peer in the tracker and not in the relay\'s library)' },
            waiting_for: { type: ['string', 'null'], enum: ['source', 'slot', null], description: 'What a `queued` download waits for: `source` (nobody is known to have it yet: it holds no download slot, and fails after --source-wait seconds) or `slot`' }
          }
        },
        DownloadReply: {
          type: 'object',
          required: ['status', 'message', 'filename', 'cached'],
          properties: {
            status: { type: 'string', enum: ['started', 'queued', 'downloading', 'completed'] },
            message: str,
            filename: str,
            cached: { type: 'boolean' },
            download: ref('DownloadStatus')
          },
          example: { status: 'started', message: 'Download started', filename: 'video_1234567890.mp4', cached: false }
        },
        CancelReply: {
          type: 'object',
          required: ['status', 'message', 'filename'],
          properties: { status: { type: 'string', const: 'cancelled' }, message: str, filename: str, download: ref('DownloadStatus') }
        },
        Stats: {
          type: 'object',
          required: ['peer_id', 'connected_peers', 'seeding_files', 'downloading_files', 'cache_files'],
          properties: {
            peer_id: str,
            connected_peers: int,
            seeding_files: int,
            downloading_files: int,
            cache_files: int,
            queued_files: int,
            relay_connected: { type: 'boolean' },
            relay: { type: ['string', 'null'] },
            bytes_from_peers: int,
            bytes_from_origin: int,
            bytes_from_http: int,
            bytes_uploaded: int,
            download_speed: num,
            upload_speed: num,
            listen_addrs: { type: 'array', items: str },
            damaged_chunks: int
          },
          example: { peer_id: '12D3KooWXyZ...', connected_peers: 1, seeding_files: 0, downloading_files: 0, cache_files: 0 }
        },
        CatalogueEntry: {
          type: 'object',
          required: ['filename', 'contentId', 'size', 'mime', 'cached'],
          properties: {
            filename: str,
            title: str,
            contentId: str,
            size: int,
            mime: str,
            cached: { type: 'boolean' },
            origin: { type: 'boolean', description: 'The relay holds the bytes (its library)' },
            source: { type: 'string', description: '`library`, `browser` (published from one), or `relay`: in the library of another relay of the network (`relay`), the bytes coming from peers' },
            relay: { type: 'string', description: 'For `source: relay`: that relay\'s peer id' }
          }
        }
      }
    }
  }
}
