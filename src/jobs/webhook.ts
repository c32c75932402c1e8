// Webhooks: a job's final state POSTed to its webhook_url, signed the Standard Webhooks way
// (webhook-id, webhook-timestamp, webhook-signature = v1,<base64 HMAC-SHA256 of "id.timestamp.body">),
// through the image fetch's SSRF guard at every connect, retried with exponential backoff.
import { createHmac } from 'node:crypto'
import type { LookupFunction } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import { Agent, request } from 'undici'
import { defaultLookup, guardedConnector } from '../image/connect-guard.js'
import { checkImageUrl } from '../image/url-policy.js'
import { jobView, type JobRecord, type WebhookState } from './job.js'
import type { JobStore } from './store.js'

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'refused'

export interface WebhookOptions {
  /** WEBHOOK_SECRET: `whsec_` and base64 of the HMAC key */
  secret: string
  maxAttempts: number
  allowHosts: string[]
  store: JobStore
  log: FastifyBaseLogger
  /** the first retry waits about this long, doubling each time (default 1 s, at most 5 min) */
  baseDelayMs?: number
  timeoutMs?: number
  lookup?: LookupFunction
  onOutcome?: (outcome: DeliveryOutcome) => void
}

const MAX_DELAY_MS = 300_000

/** The Standard Webhooks headers for one attempt. */
export function signWebhook (secret: string, id: string, timestampS: number, body: string): Record<string, string> {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const signature = createHmac('sha256', key).update(`${id}.${timestampS}.${body}`).digest('base64')
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampS), 'webhook-signature': `v1,${signature}` }
}

export class WebhookSender {
  readonly #options: WebhookOptions
  readonly #agent: Agent
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #sending = new Set<Promise<void>>()

  constructor (options: WebhookOptions) {
    this.#options = options
    this.#agent = new Agent({ connect: guardedConnector(options.allowHosts, options.lookup ?? defaultLookup) })
  }

  /** Starts the delivery of a finished job's state; attempts go on in the background. */
  deliver (record: JobRecord): void {
    if (record.webhookUrl === undefined) return
    this.#attempt(record, record.webhookUrl, 1)
  }

  async close (): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    await Promise.all([...this.#sending])
    await this.#agent.close()
  }

  #attempt (record: JobRecord, url: string, attempt: number): void {
    const sending = this.#send(record, url, attempt).finally(() => { this.#sending.delete(sending) })
    this.#sending.add(sending)
  }

  async #send (record: JobRecord, url: string, attempt: number): Promise<void> {
    const { maxAttempts, store, log } = this.#options
    const body = JSON.stringify(jobView(record, undefined, `/jobs/${record.id}/image`))
    let status: number | null = null
    let refused = false
    try {
      // the URL is judged again at every delivery, and its addresses at connect (guardedConnector)
      const target = checkImageUrl(url, { allowHosts: this.#options.allowHosts, field: 'webhook_url' })
      const response = await request(target, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': 'application/json', 'user-agent': 'stylize-proxy-webhook', ...signWebhook(this.#options.secret, `msg_${record.id}`, Math.floor(Date.now() / 1000), body) },
        body,
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000)
      })
      await response.body.dump()
      status = response.statusCode
    } catch (error) {
      const code = (error as { code?: string }).code
      refused = code === 'ERR_IMAGE_FORBIDDEN_ADDRESS' || code === 'IMAGE_URL_REJECTED'
      log.info({ jobId: record.id, attempt, reason: code ?? (error as Error).name }, 'webhook delivery failed')
    }
    const delivered = status !== null && status >= 200 && status < 300
    const state: WebhookState = { attempts: attempt, delivered, last_status: status }
    await store.update(record.id, { webhook: state }).catch(() => {})
    const last = delivered || refused || attempt >= maxAttempts
    const outcome: DeliveryOutcome = delivered ? 'delivered' : refused ? 'refused' : last ? 'failed' : 'retry'
    this.#options.onOutcome?.(outcome)
    log.info({ jobId: record.id, attempt, status, outcome }, 'webhook attempt')
    if (last) return
    const ceiling = Math.min(MAX_DELAY_MS, (this.#options.baseDelayMs ?? 1000) * 2 ** (attempt - 1))
    // half fixed, half jitter: retries spread out but never come back at once
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#attempt(record, url, attempt + 1)
    }, ceiling / 2 + Math.random() * ceiling / 2)
    timer.unref()
    this.#timers.add(timer)
  }
}
