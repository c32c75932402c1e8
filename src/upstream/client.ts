// One CVProcess call over a keep-alive undici Pool: sign, send, and read either response shape.
import type { Readable } from 'node:stream'
import { Pool } from 'undici'
import { jsonWithBase64Chunks } from '../json-with-base64.js'
import { signRequest, signingHost, type Credentials } from './sign.js'
import { UpstreamCallError, parseUpstreamResponse, retryAfterMsOf, type UpstreamResult } from './response.js'

export const CV_PROCESS_QUERY = { Action: 'CVProcess', Version: '2022-08-31' } as const

export interface UpstreamClientOptions {
  url: string
  region: string
  service: string
  timeoutMs: number
  /** read on every call, so SIGHUP-reloaded secrets take effect at once */
  credentials: () => Credentials | undefined
  /** the most sockets kept to the upstream; the concurrency gate bounds calls anyway */
  connections?: number
}

/** The CVProcess body as the chunks signed and sent: the image's base64, its bulk, copied in (json-with-base64.ts). */
export function upstreamPayload (body: Record<string, unknown>): Buffer[] {
  const images = body.binary_data_base64
  if (!Array.isArray(images) || images.length !== 1 || typeof images[0] !== 'string') return [Buffer.from(JSON.stringify(body))]
  const { binary_data_base64: _image, ...fields } = body
  return jsonWithBase64Chunks(fields, 'binary_data_base64', images[0], true)
}

/**
 * The chunks as undici writes them, each let go once taken: a call that waits seconds for its answer holds
 * no copy of its payload (the body's base64 string, kept for a retry, is the one copy).
 */
function * eachOnce (chunks: Buffer[]): Generator<Buffer> {
  for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) yield chunk
}

export class UpstreamClient {
  readonly #options: UpstreamClientOptions
  readonly #pool: Pool
  readonly #url: URL

  constructor (options: UpstreamClientOptions) {
    this.#options = options
    this.#url = new URL(options.url)
    this.#pool = new Pool(this.#url.origin, {
      connections: options.connections ?? 64,
      connectTimeout: Math.min(10_000, options.timeoutMs),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 30_000
    })
  }

  /** Sends one signed CVProcess request; throws UpstreamCallError on anything but success. */
  async process (body: Record<string, unknown>, signal?: AbortSignal): Promise<UpstreamResult> {
    const credentials = this.#options.credentials()
    if (!credentials) throw new UpstreamCallError({ kind: 'config', code: 'NoCredentials', bodySent: false })
    const payload = upstreamPayload(body)
    const length = payload.reduce((total, chunk) => total + chunk.length, 0)
    const path = this.#url.pathname === '' ? '/' : this.#url.pathname
    const headers = signRequest({
      method: 'POST',
      host: signingHost(this.#url),
      path,
      query: CV_PROCESS_QUERY,
      contentType: 'application/json',
      body: payload,
      date: new Date(),
      region: this.#options.region,
      service: this.#options.service,
      credentials
    })
    const deadline = AbortSignal.timeout(this.#options.timeoutMs)
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline
    const started = performance.now()
    let statusCode: number
    let text: string
    let retryAfterMs: number | undefined
    try {
      const response = await this.#pool.request({
        method: 'POST',
        path: `${path}?Action=${CV_PROCESS_QUERY.Action}&Version=${CV_PROCESS_QUERY.Version}`,
        headers: { ...headers, 'content-length': String(length) },
        // undici writes an Iterable body chunk by chunk (documented for request(); its types list streams only)
        body: eachOnce(payload) as unknown as Readable,
        signal: combined
      })
      statusCode = response.statusCode
      retryAfterMs = retryAfterMsOf(response.headers['retry-after'])
      text = await response.body.text()
    } catch (error) {
      throw UpstreamCallError.fromTransport(error, { timedOut: deadline.aborted, aborted: signal?.aborted === true })
    }
    return parseUpstreamResponse(statusCode, text, performance.now() - started, retryAfterMs)
  }

  async close (): Promise<void> {
    await this.#pool.close()
  }
}
