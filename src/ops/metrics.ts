// The Prometheus series, in a registry of our own (default process metrics included). The upstream
// path reports through UpstreamObserver; requests are counted from their completion facts.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { BreakerState } from '../upstream/breaker.js'
import type { UpstreamCallerStats } from '../upstream/caller.js'
import type { UpstreamObserver } from '../upstream/observer.js'
import type { CompletionFacts } from './request-context.js'

const BREAKER_STATES: BreakerState[] = ['closed', 'half_open', 'open']

export interface CompletedRequest {
  method: string
  route: string
  statusCode: number
  seconds: number
  facts: CompletionFacts
}

export class Metrics {
  readonly registry = new Registry()
  readonly upstreamObserver: UpstreamObserver
  #upstreamStats: (() => UpstreamCallerStats) | undefined

  readonly #requests = new Counter({
    name: 'stylize_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [this.registry]
  })

  readonly #requestSeconds = new Histogram({
    name: 'stylize_http_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames: ['method', 'route'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120],
    registers: [this.registry]
  })

  readonly #errors = new Counter({
    name: 'stylize_http_errors_total',
    help: 'Error answers by the contract code',
    labelNames: ['code'] as const,
    registers: [this.registry]
  })

  readonly #refusals = new Counter({
    name: 'stylize_refusals_total',
    help: '429 answers by code: RATE_LIMITED (per-key rate limit) or QUOTA_EXCEEDED (daily quota)',
    labelNames: ['code'] as const,
    registers: [this.registry]
  })

  readonly #imageBytes = new Counter({
    name: 'stylize_image_bytes_total',
    help: 'Image bytes: received from clients (in), sent upstream (up), answered (out)',
    labelNames: ['stage'] as const,
    registers: [this.registry]
  })

  readonly #attempts = new Counter({
    name: 'stylize_upstream_attempts_total',
    help: 'Upstream attempts by outcome: 10000 on success, else the upstream code or our failure kind',
    labelNames: ['outcome'] as const,
    registers: [this.registry]
  })

  readonly #latency = new Histogram({
    name: 'stylize_upstream_latency_seconds',
    help: 'Duration of one upstream attempt',
    labelNames: ['result'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90],
    registers: [this.registry]
  })

  readonly #queueWait = new Histogram({
    name: 'stylize_upstream_queue_wait_seconds',
    help: 'Time a request waited for an upstream slot',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60],
    registers: [this.registry]
  })

  readonly #retries = new Counter({
    name: 'stylize_upstream_retries_total',
    help: 'Upstream retries by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry]
  })

  readonly #refused = new Counter({
    name: 'stylize_upstream_refused_total',
    help: 'Requests the proxy did not send upstream: queue_full, queue_timeout, circuit_open, shutting_down, cancelled',
    labelNames: ['reason'] as const,
    registers: [this.registry]
  })

  readonly #breakerTransitions = new Counter({
    name: 'stylize_upstream_breaker_transitions_total',
    help: 'Circuit breaker transitions, by the state entered',
    labelNames: ['to'] as const,
    registers: [this.registry]
  })

  readonly #jobs = new Counter({
    name: 'stylize_jobs_total',
    help: 'Jobs by status: queued when accepted, then the status each one ended in',
    labelNames: ['status'] as const,
    registers: [this.registry]
  })

  readonly #webhooks = new Counter({
    name: 'stylize_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered, retry, failed (attempts used up), refused (address policy)',
    labelNames: ['outcome'] as const,
    registers: [this.registry]
  })

  readonly #usageLost = new Counter({
    name: 'stylize_usage_counts_lost_total',
    help: 'Requests and job ends whose usage counts were dropped because Redis did not take them',
    registers: [this.registry]
  })

  #fleetDepth: (() => number) | undefined
  #imageWork: (() => number) | undefined

  constructor () {
    collectDefaultMetrics({ register: this.registry })
    const fleetDepth = (): number => this.#fleetDepth?.() ?? this.#upstreamStats?.().queueDepth ?? 0
    new Gauge({ // eslint-disable-line no-new
      name: 'stylize_fleet_queue_depth',
      help: 'Calls waiting in the fleet-wide queue (with REDIS_URL; else this replica\'s queue)',
      registers: [this.registry],
      collect () { this.set(fleetDepth()) }
    })
    const imageWork = (): number => this.#imageWork?.() ?? 0
    new Gauge({ // eslint-disable-line no-new
      name: 'stylize_image_work_in_progress',
      help: 'Requests reading, downloading or preparing a photo now (at most IMAGE_WORK_MAX; past it 503 OVERLOADED)',
      registers: [this.registry],
      collect () { this.set(imageWork()) }
    })
    const stats = (): UpstreamCallerStats | undefined => this.#upstreamStats?.()
    new Gauge({ // eslint-disable-line no-new
      name: 'stylize_upstream_queue_depth',
      help: 'Requests waiting for an upstream slot in this replica',
      registers: [this.registry],
      collect () { this.set(stats()?.queueDepth ?? 0) }
    })
    new Gauge({ // eslint-disable-line no-new
      name: 'stylize_upstream_in_flight',
      help: 'Upstream calls this replica has in flight',
      registers: [this.registry],
      collect () { this.set(stats()?.inFlight ?? 0) }
    })
    new Gauge({ // eslint-disable-line no-new
      name: 'stylize_upstream_breaker_state',
      help: 'Circuit breaker state: 1 for the current one of closed, half_open, open',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect () {
        const current = stats()?.breakerState ?? 'closed'
        for (const state of BREAKER_STATES) this.set({ state }, state === current ? 1 : 0)
      }
    })

    this.upstreamObserver = {
      queueWait: (seconds) => { this.#queueWait.observe(seconds) },
      refused: (reason) => { this.#refused.inc({ reason }) },
      attempt: (outcome, seconds) => {
        this.#attempts.inc({ outcome })
        this.#latency.observe({ result: outcome === '10000' ? 'success' : 'failure' }, seconds)
      },
      retry: (reason) => { this.#retries.inc({ reason }) },
      breakerState: (state) => { this.#breakerTransitions.inc({ to: state }) }
    }
  }

  /** Where the queue depth, in-flight count and breaker state are read at each scrape. */
  watchUpstream (stats: () => UpstreamCallerStats): void {
    this.#upstreamStats = stats
  }

  /** Where the number of requests holding an image-work slot is read at each scrape. */
  watchImageWork (inUse: () => number): void {
    this.#imageWork = inUse
  }

  /** Where the fleet's queue depth is read at each scrape. */
  watchFleetDepth (depth: () => number): void {
    this.#fleetDepth = depth
  }

  jobStatus (status: string): void {
    this.#jobs.inc({ status })
  }

  usageCountLost (): void {
    this.#usageLost.inc()
  }

  webhookOutcome (outcome: string): void {
    this.#webhooks.inc({ outcome })
  }

  requestCompleted (request: CompletedRequest): void {
    const { method, route, statusCode, facts } = request
    this.#requests.inc({ method, route, status_code: statusCode })
    this.#requestSeconds.observe({ method, route }, request.seconds)
    if (facts.errorCode !== undefined) {
      this.#errors.inc({ code: facts.errorCode })
      if (statusCode === 429) this.#refusals.inc({ code: facts.errorCode })
    }
    if (facts.bytesIn !== undefined) this.#imageBytes.inc({ stage: 'in' }, facts.bytesIn)
    if (facts.bytesUp !== undefined) this.#imageBytes.inc({ stage: 'up' }, facts.bytesUp)
    if (facts.bytesOut !== undefined) this.#imageBytes.inc({ stage: 'out' }, facts.bytesOut)
  }
}
