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

/** How later attempts are scheduled: timers in this process, or a durable queue (webhook-queue.ts). */
export interface RetryScheduler {
  /** runs `attempt` number `next` after about `delayMs` */
  later: (record: JobRecord, next: number, delayMs: number) => void
  close: () => Promise<void>
}

export class WebhookSender {
  readonly #options: WebhookOptions
  readonly #agent: Agent
  readonly #sending = new Set<Promise<unknown>>()
  #scheduler: RetryScheduler

  constructor (options: WebhookOptions) {
    this.#options = options
    this.#agent = new Agent({ connect: guardedConnector(options.allowHosts, options.lookup ?? defaultLookup) })
    this.#scheduler = new TimerScheduler((record, attempt) => { this.#track(this.attempt(record, attempt)) })
  }

  /** Retries through `scheduler` from now on (the fleet's durable queue) instead of this process's timers. */
  schedule (scheduler: RetryScheduler): void {
    this.#scheduler = scheduler
  }

  /** Starts the delivery of a finished job's state; later attempts go on in the background. */
  deliver (record: JobRecord): void {
    if (record.webhookUrl === undefined) return
    this.#track(this.attempt(record, 1))
  }

  async close (): Promise<void> {
    await this.#scheduler.close()
    await Promise.all([...this.#sending])
    await this.#agent.close()
  }

  /** One attempt, its outcome kept on the job; a retry is scheduled unless it was the last. */
  async attempt (record: JobRecord, attempt: number): Promise<DeliveryOutcome> {
    const { maxAttempts, store, log } = this.#options
    const url = record.webhookUrl as string
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
    if (!last) this.#scheduler.later(record, attempt + 1, retryDelayMs(attempt, this.#options.baseDelayMs))
    return outcome
  }

  #track (sending: Promise<unknown>): void {
    const tracked = sending.catch(() => {}).finally(() => { this.#sending.delete(tracked) })
    this.#sending.add(tracked)
  }
}

/** About base x 2^(n-1), half fixed and half jitter, so retries spread out but never come back at once. */
export function retryDelayMs (attempt: number, baseMs = 1000): number {
  const ceiling = Math.min(MAX_DELAY_MS, baseMs * 2 ** (attempt - 1))
  return ceiling / 2 + Math.random() * ceiling / 2
}

/** Retries on this process's timers: lost if it stops (the service without Redis). */
class TimerScheduler implements RetryScheduler {
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #run: (record: JobRecord, attempt: number) => void

  constructor (run: (record: JobRecord, attempt: number) => void) {
    this.#run = run
  }

  later (record: JobRecord, next: number, delayMs: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#run(record, next)
    }, delayMs)
    timer.unref()
    this.#timers.add(timer)
  }

  async close (): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
  }
}
