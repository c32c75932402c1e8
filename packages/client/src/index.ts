// The typed client for internal Node services: `import { StylizeClient } from 'stylize-proxy-client'`.
// One call per photo over undici; failures throw StylizeError with the proxy's code and Retry-After.
// It ships to other services: nothing here imports the server's code.
import { access, constants } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { errors as undiciErrors, request, type Dispatcher } from 'undici'
import { contractError, headerValue, StylizeError } from './errors.js'
import { multipartBody } from './multipart.js'

export { CONTRACT_ERROR_CODES, StylizeError, parseRetryAfter } from './errors.js'
export type { ClientErrorCode, ContractErrorCode, StylizeErrorCode } from './errors.js'

/** A photo: its bytes, a stream of them, a file, or a URL the proxy downloads itself. */
export type StylizeInput = Buffer | Uint8Array | Readable | { path: string } | { url: string }

/** The generation fields of POST /stylize, with the API's own names (see /openapi.yaml). */
export interface StylizeParameters {
  preset?: string
  /** only for keys with allowPrompt */
  prompt?: string
  strength?: number
  seed?: number
  scale?: number
  ddim_steps?: number
  lora_multipers?: Record<string, number>
  clip_skip?: number
  canny_weight?: number
  i2i_keep_texture?: 0 | 1
  long_resolution?: number
  id_scale?: number
  logo_info?: { add_logo?: boolean, position?: number, language?: number, opacity?: number }
}

export interface StylizeOptions extends StylizeParameters {
  /** true: the result is an upstream URL (`imageUrl`) instead of the bytes */
  returnUrl?: boolean
  /** makes a retry of this call safe: the proxy answers it from the first result, without paying twice */
  idempotencyKey?: string
  /** your own request id (A-Z a-z 0-9 . _ : -, up to 128), found in the proxy's logs */
  requestId?: string
  signal?: AbortSignal
  /** this call's deadline; default the client's */
  timeoutMs?: number
}

export interface StylizeImageResult {
  image: Buffer
  mimeType: string
  requestId: string
  upstreamRequestId: string | undefined
  /** answered from the result kept for its Idempotency-Key (the proxy's Idempotent-Replayed): not paid again */
  replayed: boolean
}

export interface StylizeUrlResult {
  imageUrl: string
  requestId: string
  upstreamRequestId: string | undefined
  /** answered from the result kept for its Idempotency-Key: not paid again */
  replayed: boolean
}

export interface PresetInfo {
  name: string
  default: boolean
  parameters: StylizeParameters & { prompt: string }
}

/** What a key did in one period (GET /usage): paid successes, failures and refusals by code, bytes. */
export interface UsageFigures {
  succeeded: number
  failed: Record<string, number>
  refused: Record<string, number>
  replayed: number
  upstream_attempts: number
  retries: number
  bytes_in: number
  bytes_up: number
  /** succeeded x the operator's price, when one is set */
  spend?: number
}

/** GET /usage: the key's usage today and this month (UTC), its quota left and its rate limit. */
export interface Usage {
  key_id: string
  day: string
  today: UsageFigures
  month: UsageFigures
  quota: { daily: number | null, remaining: number | null, resets_at: string }
  rate_limit: { max: number, window_ms: number }
  price_per_call?: number
  currency?: string
}

/** A job (POST /jobs), as the proxy describes it. */
export interface Job {
  job_id: string
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'
  created_at: string
  preset: string
  /** while queued: place in the fleet's queue (1 = next) and an estimate */
  position?: number
  estimated_wait_s?: number
  started_at?: string
  finished_at?: string
  result?: { mime_type: string, image_url: string }
  /** what POST /stylize would have answered */
  error?: { statusCode: number, code: string, message: string }
  webhook?: { attempts: number, delivered: boolean, last_status: number | null }
}

export interface SubmitJobOptions extends StylizeParameters {
  returnUrl?: boolean
  /** the proxy POSTs the final job there, signed (Standard Webhooks) */
  webhookUrl?: string
  /** a retried submit gets the same job back */
  idempotencyKey?: string
  requestId?: string
  signal?: AbortSignal
  timeoutMs?: number
}

export interface WaitForJobOptions {
  /** the whole wait, all long polls together; default 10 minutes */
  deadlineMs?: number
  signal?: AbortSignal
}

const FINAL_JOB_STATUSES = new Set(['succeeded', 'failed', 'cancelled'])
const LONG_POLL_S = 30

export interface StylizeClientOptions {
  /** the proxy, e.g. http://stylize-proxy:3000 */
  baseUrl: string
  /** a client key (spk_…) */
  apiKey: string
  /** deadline of one call, queueing at the proxy included; default 150 s (the proxy's own budget is 120 s) */
  timeoutMs?: number
  /** an undici Agent or Pool of your own (connection limits, TLS); default undici's global one */
  dispatcher?: Dispatcher
}

const DEFAULT_TIMEOUT_MS = 150_000

export class StylizeClient {
  readonly #baseUrl: string
  readonly #apiKey: string
  readonly #timeoutMs: number
  readonly #dispatcher: Dispatcher | undefined

  constructor (options: StylizeClientOptions) {
    if (!/^https?:\/\//.test(options.baseUrl)) throw new TypeError('baseUrl must be an http(s) URL')
    if (typeof options.apiKey !== 'string' || options.apiKey === '') throw new TypeError('apiKey is required')
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.#apiKey = options.apiKey
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.#dispatcher = options.dispatcher
  }

  /** Stylizes a photo: the image's bytes, or with `returnUrl: true` the upstream's URL of it. */
  async stylize (input: StylizeInput, options: StylizeOptions & { returnUrl: true }): Promise<StylizeUrlResult>
  async stylize (input: StylizeInput, options?: StylizeOptions & { returnUrl?: false }): Promise<StylizeImageResult>
  async stylize (input: StylizeInput, options: StylizeOptions = {}): Promise<StylizeImageResult | StylizeUrlResult> {
    const { returnUrl = false, idempotencyKey, requestId, signal, timeoutMs, ...parameters } = options
    const fields: Record<string, unknown> = { ...parameters, ...(returnUrl ? { return_url: true } : {}) }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#apiKey}`,
      // the bytes themselves: no base64 on the wire
      accept: returnUrl ? 'application/json' : 'image/*'
    }
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey
    if (requestId !== undefined) headers['x-request-id'] = requestId

    const { contentType, body } = await this.#body(input, fields)
    headers['content-type'] = contentType

    const answer = await this.#call('POST', '/stylize', { headers, body, signal, timeoutMs })
    const ids = {
      requestId: answer.requestId,
      upstreamRequestId: headerValue(answer.headers['x-upstream-request-id']),
      replayed: headerValue(answer.headers['idempotent-replayed']) === 'true'
    }
    if (returnUrl) {
      const json = JSON.parse(answer.bytes.toString('utf8')) as { image_url?: string, image_base64?: string, mime_type?: string }
      if (typeof json.image_url === 'string') return { imageUrl: json.image_url, ...ids }
      throw new StylizeError({ code: 'HTTP_ERROR', message: 'the proxy answered without image_url', statusCode: 200, requestId: ids.requestId })
    }
    const mimeType = (headerValue(answer.headers['content-type']) ?? '').split(';')[0]!.trim()
    return { image: answer.bytes, mimeType, ...ids }
  }

  /** Submits a photo as a job: answered at once (202) with the queued job; collect it with waitForJob. */
  async submitJob (input: StylizeInput, options: SubmitJobOptions = {}): Promise<Job> {
    const { returnUrl = false, webhookUrl, idempotencyKey, requestId, signal, timeoutMs, ...parameters } = options
    const fields: Record<string, unknown> = { ...parameters, ...(returnUrl ? { return_url: true } : {}), ...(webhookUrl === undefined ? {} : { webhook_url: webhookUrl }) }
    const headers = this.#headers({ idempotencyKey, requestId })
    const { contentType, body } = await this.#body(input, fields)
    headers['content-type'] = contentType
    return this.#json<Job>(await this.#call('POST', '/jobs', { headers, body, signal, timeoutMs }))
  }

  /** The job now, or with `waitS` (0..30) as soon as it ends within that many seconds. */
  async getJob (id: string, options: { waitS?: number, signal?: AbortSignal, timeoutMs?: number } = {}): Promise<Job> {
    const query = options.waitS === undefined ? '' : `?wait=${options.waitS}`
    const timeoutMs = options.timeoutMs ?? (options.waitS ?? 0) * 1000 + 30_000
    return this.#json<Job>(await this.#call('GET', `/jobs/${encodeURIComponent(id)}${query}`, { headers: this.#headers({}), signal: options.signal, timeoutMs }))
  }

  /**
   * Long-polls until the job ends (succeeded, failed or cancelled) and returns it; a 503 (the proxy busy,
   * or its store away) is waited out after its Retry-After. Throws TIMEOUT past the overall deadline.
   */
  async waitForJob (id: string, options: WaitForJobOptions = {}): Promise<Job> {
    const deadlineAt = Date.now() + (options.deadlineMs ?? 600_000)
    for (;;) {
      const left = deadlineAt - Date.now()
      if (left <= 0) throw new StylizeError({ code: 'TIMEOUT', message: `job ${id} did not end in time` })
      try {
        const job = await this.getJob(id, { waitS: Math.min(LONG_POLL_S, Math.ceil(left / 1000)), signal: options.signal })
        if (FINAL_JOB_STATUSES.has(job.status)) return job
      } catch (error) {
        if (!(error instanceof StylizeError) || error.statusCode !== 503) throw error
        await new Promise((resolve) => setTimeout(resolve, Math.min(left, (error.retryAfter ?? 1) * 1000)))
      }
    }
  }

  /** Cancels a queued job (never paid); StylizeError JOB_NOT_CANCELLABLE once it runs or ended. */
  async cancelJob (id: string, options: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<Job> {
    return this.#json<Job>(await this.#call('DELETE', `/jobs/${encodeURIComponent(id)}`, { headers: this.#headers({}), signal: options.signal, timeoutMs: options.timeoutMs }))
  }

  /** A succeeded job's image bytes. */
  async jobImage (id: string, options: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<{ image: Buffer, mimeType: string }> {
    const answer = await this.#call('GET', `/jobs/${encodeURIComponent(id)}/image`, { headers: { ...this.#headers({}), accept: 'image/*' }, signal: options.signal, timeoutMs: options.timeoutMs })
    return { image: answer.bytes, mimeType: (headerValue(answer.headers['content-type']) ?? '').split(';')[0]!.trim() }
  }

  /** This key's usage today and this month, its daily quota left, its rate limit and its spend. */
  async usage (options: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<Usage> {
    return this.#json<Usage>(await this.#call('GET', '/usage', { headers: this.#headers({}), signal: options.signal, timeoutMs: options.timeoutMs }))
  }

  #headers (ids: { idempotencyKey?: string | undefined, requestId?: string | undefined }): Record<string, string> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#apiKey}`, accept: 'application/json' }
    if (ids.idempotencyKey !== undefined) headers['idempotency-key'] = ids.idempotencyKey
    if (ids.requestId !== undefined) headers['x-request-id'] = ids.requestId
    return headers
  }

  /**
   * A URL goes as JSON (the proxy downloads it); bytes, streams and files as multipart. A file that cannot
   * be read rejects with the file system's own error (ENOENT...) before anything is sent.
   */
  async #body (input: StylizeInput, fields: Record<string, unknown>): Promise<{ contentType: string, body: string | AsyncIterable<Uint8Array> }> {
    if (typeof input === 'object' && 'url' in input && typeof input.url === 'string') {
      return { contentType: 'application/json', body: JSON.stringify({ image_url: input.url, ...fields }) }
    }
    if (typeof input === 'object' && 'path' in input && typeof input.path === 'string') await access(input.path, constants.R_OK)
    const multipart = multipartBody(fields, input as Uint8Array | Readable | { path: string })
    return { contentType: multipart.contentType, body: multipart.body }
  }

  #json<T> (answer: { bytes: Buffer }): T {
    return JSON.parse(answer.bytes.toString('utf8')) as T
  }

  /** The presets this key may use, with their parameters, and whether it may send its own prompt. */
  async presets (options: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<{ presets: PresetInfo[], allowPrompt: boolean }> {
    const answer = await this.#call('GET', '/presets', {
      headers: { authorization: `Bearer ${this.#apiKey}`, accept: 'application/json' },
      signal: options.signal,
      timeoutMs: options.timeoutMs
    })
    return JSON.parse(answer.bytes.toString('utf8')) as { presets: PresetInfo[], allowPrompt: boolean }
  }

  async #call (method: 'GET' | 'POST' | 'DELETE', path: string, call: {
    headers: Record<string, string>
    body?: string | AsyncIterable<Uint8Array>
    signal: AbortSignal | undefined
    timeoutMs: number | undefined
  }): Promise<{ bytes: Buffer, headers: Record<string, string | string[] | undefined>, requestId: string }> {
    const timeoutMs = call.timeoutMs ?? this.#timeoutMs
    const deadline = AbortSignal.timeout(timeoutMs)
    const signal = call.signal === undefined ? deadline : AbortSignal.any([call.signal, deadline])
    try {
      const response = await request(`${this.#baseUrl}${path}`, {
        method,
        headers: call.headers,
        body: typeof call.body === 'object' ? Readable.from(call.body) : call.body,
        signal,
        ...(this.#dispatcher === undefined ? {} : { dispatcher: this.#dispatcher })
      })
      const bytes = Buffer.from(await response.body.arrayBuffer())
      const headers = response.headers as Record<string, string | string[] | undefined>
      if (response.statusCode !== 200 && response.statusCode !== 202) throw contractError(response.statusCode, bytes.toString('utf8'), headers)
      return { bytes, headers, requestId: headerValue(headers['x-request-id']) ?? '' }
    } catch (error) {
      if (error instanceof StylizeError) throw error
      // the caller's own abort stays an abort, as with fetch
      if (call.signal?.aborted === true) throw call.signal.reason
      if (deadline.aborted) {
        throw new StylizeError({ code: 'TIMEOUT', message: `no answer within ${timeoutMs} ms`, cause: error })
      }
      if (error instanceof undiciErrors.UndiciError || (error as NodeJS.ErrnoException).code !== undefined) {
        throw new StylizeError({ code: 'NETWORK_ERROR', message: `cannot reach the proxy (${(error as Error).message})`, cause: error })
      }
      throw error
    }
  }
}
