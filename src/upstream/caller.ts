// One stylization's whole upstream story: circuit breaker -> concurrency gate -> signed call -> retry.
// The route calls this, never the client directly.
import { setTimeout as sleep } from 'node:timers/promises'
import type { BaseLogger } from 'pino'

/** the two levels the caller logs at; a fastify or pino logger */
export type CallerLogger = Pick<BaseLogger, 'info' | 'warn'>
import { CircuitBreaker, type BreakerState, type BreakerTicket } from './breaker.js'
import type { UpstreamClient } from './client.js'
import { ConcurrencyGate, type Reservation } from './gate.js'
import { SILENT_OBSERVER, type UpstreamObserver } from './observer.js'
import { UpstreamCallError, type UpstreamResult } from './response.js'
import { backoffMs, healthVerdict, randomSeed, retryDecision } from './retry.js'
import type { SlotLease, SlotSource } from './slots.js'
import { UpstreamUnavailable } from './unavailable.js'

export interface UpstreamCallerOptions {
  client: Pick<UpstreamClient, 'process'>
  slots: SlotSource
  /** UPSTREAM_CONCURRENCY, for wait estimates (the slot source enforces it) */
  concurrency: number
  queueMax: number
  queueTimeoutMs: number
  retries: number
  /** attempts and backoff together, from the first attempt on */
  deadlineMs: number
  breakerThreshold: number
  breakerCooldownMs: number
  logger: CallerLogger
  observer?: UpstreamObserver
  random?: () => number
}

export interface CallOptions {
  /** the client went away: leave the queue, do not retry (a call already sent runs to its end) */
  signal?: AbortSignal | undefined
  /** the request's effective seed: -1 or absent lets a 50511 be retried once with another */
  clientSeed?: unknown
  /** the request's logger, so retries are logged under its id */
  log?: CallerLogger
  /** told the number of retries so far, each time one starts */
  onRetry?: (retries: number) => void
  /** names the call in the queue, for position() */
  queueId?: string
  /** the place reserve() gave this request: its call takes it in the gate */
  reservation?: Reservation | undefined
  /** the caller already holds an upstream slot (the fleet queue's worker): no gate */
  slotHeld?: boolean
  /**
   * Runs once, with the slot held, just before the first attempt is sent; throwing ends the call unsent
   * (a cancelled job, or a job whose call had already started on a worker that died).
   */
  beforeCall?: () => Promise<void>
}

export interface UpstreamCallerStats {
  queueDepth: number
  inFlight: number
  breakerState: BreakerState
}

/** The metrics label of an attempt's outcome: the upstream's code, or the kind of our failure. */
export function outcomeLabel (error: UpstreamCallError): string {
  if (error.kind === 'business' || error.kind === 'gateway') return error.upstreamCode
  if (error.kind === 'http') return `http_${error.httpStatus ?? 0}`
  return error.kind
}

/** What an attempt waits for its slot with: the request's signal, the call's deadline once the first was sent. */
interface AttemptWait {
  signal: AbortSignal | undefined
  deadline: AbortSignal | undefined
  /** the last attempt's error, when this one is a retry */
  lastError: UpstreamCallError | undefined
  id: string | undefined
  reservation: Reservation | undefined
}

/** The slot a fleet worker already holds: BullMQ counts it, so there is nothing to give back here. */
const HELD_SLOT: SlotLease = { release: async () => {} }

export class UpstreamCaller {
  readonly #options: UpstreamCallerOptions
  readonly #observer: UpstreamObserver
  readonly #gate: ConcurrencyGate
  readonly #breaker: CircuitBreaker
  /** one per call in progress, so that the shutdown deadline can cut them all */
  readonly #running = new Set<AbortController>()
  /** aborted by stop(): ends the backoff sleeps of calls waiting to retry, and refuses any new call */
  readonly #stop = new AbortController()

  get #stopped (): boolean {
    return this.#stop.signal.aborted
  }

  constructor (options: UpstreamCallerOptions) {
    this.#options = options
    this.#observer = options.observer ?? SILENT_OBSERVER
    this.#gate = new ConcurrencyGate({
      source: options.slots,
      concurrency: options.concurrency,
      queueMax: options.queueMax,
      queueTimeoutMs: options.queueTimeoutMs,
      initialServiceMs: Math.min(options.deadlineMs, 5000),
      observer: this.#observer
    })
    this.#breaker = new CircuitBreaker({
      threshold: options.breakerThreshold,
      cooldownMs: options.breakerCooldownMs,
      onTransition: (from, to, consecutiveFailures) => {
        const log = to === 'open' ? options.logger.warn.bind(options.logger) : options.logger.info.bind(options.logger)
        log({ breaker: { from, to, consecutiveFailures } }, `upstream circuit ${to.replace('_', '-')}`)
        this.#observer.breakerState(to)
      }
    })
  }

  /** The 1-based queue place of the call named `queueId`, or undefined when it is not waiting. */
  position (queueId: string): number | undefined {
    return this.#gate.position(queueId)
  }

  /** How long a request behind `ahead` others would likely wait for its call to start. */
  estimateWaitMs (ahead: number): number {
    return this.#gate.estimateWaitMs(ahead)
  }

  get stats (): UpstreamCallerStats {
    return { queueDepth: this.#gate.depth, inFlight: this.#gate.held, breakerState: this.#breaker.state }
  }

  /**
   * The refusal a request arriving now would certainly get (shutting down, circuit open, queue full),
   * so the route can answer before reading and preparing an image that would never be sent.
   */
  refusalNow (): UpstreamUnavailable | undefined {
    if (this.#stopped) return this.#refuse('shutting_down', 1000)
    if (this.#breaker.state === 'open') return this.#refuse('circuit_open', this.#breaker.retryAfterMs() ?? this.#gate.serviceMs)
    if (this.#gate.full) return this.#refuse('queue_full', this.#gate.estimateWaitMs())
    return undefined
  }

  /**
   * refusalNow(), and when there is none a place held in the gate from now until this request's call
   * reaches it (or the request ends and disposes of it): so that a burst cannot all pass this check at
   * once and be refused only after reading and preparing their photos.
   */
  reserve (): UpstreamUnavailable | Reservation {
    const refusal = this.refusalNow()
    if (refusal !== undefined) return refusal
    return this.#gate.reserve() ?? this.#refuse('queue_full', this.#gate.estimateWaitMs())
  }

  /** The stylized result, or throws UpstreamCallError (the last attempt's) or UpstreamUnavailable. */
  async call (body: Record<string, unknown>, options: CallOptions = {}): Promise<UpstreamResult> {
    if (this.#stopped) throw this.#refuse('shutting_down', 1000)
    const stopping = new AbortController()
    this.#running.add(stopping)
    const sent = { attempts: 0 }
    try {
      return { ...await this.#attempts(body, options, stopping.signal, sent), attempts: sent.attempts }
    } catch (error) {
      // usage counts what was sent, whichever way the call ended
      if (error instanceof UpstreamCallError || error instanceof UpstreamUnavailable) error.attempts = sent.attempts
      throw error
    } finally {
      this.#running.delete(stopping)
    }
  }

  /**
   * Shutdown's deadline: refuse whatever waits or would start (never sent, so 503 "retry"), and retry
   * nothing more; calls already sent go on, since they may be billed.
   */
  stop (): void {
    this.#gate.close()
    // calls waiting to retry end now, with their last attempt's own error
    this.#stop.abort()
  }

  /** The last moment before the process must exit: cut the calls still running (502: maybe billed). */
  cut (): void {
    this.stop()
    for (const stopping of this.#running) stopping.abort()
  }

  async close (): Promise<void> {
    await this.#options.slots.close()
  }

  /** Attempts until one succeeds, or the failure is final; `stopping` aborts at the shutdown deadline. */
  async #attempts (body: Record<string, unknown>, options: CallOptions, stopping: AbortSignal, sent: { attempts: number }): Promise<UpstreamResult> {
    const { signal } = options
    const log = options.log ?? this.#options.logger
    const seed = options.clientSeed ?? body.seed
    let current = body
    let retries = 0
    let reseeded = false
    let deadline: AbortSignal | undefined
    let deadlineAt = 0
    let lastError: UpstreamCallError | undefined

    for (;;) {
      if (stopping.aborted) throw this.#refuse('shutting_down', 1000)
      const ticket = this.#breaker.admit()
      if (ticket === undefined) throw this.#refuse('circuit_open', this.#breaker.retryAfterMs() ?? this.#gate.serviceMs)
      const lease = options.slotHeld === true ? HELD_SLOT : await this.#acquire(ticket, { signal, deadline, lastError, id: options.queueId, reservation: options.reservation })
      if (lastError === undefined && options.beforeCall !== undefined) {
        try {
          await options.beforeCall()
        } catch (error) {
          this.#breaker.record(ticket, 'neutral')
          await lease.release()
          throw error
        }
      }
      if (deadline === undefined) {
        deadline = AbortSignal.timeout(this.#options.deadlineMs)
        deadlineAt = performance.now() + this.#options.deadlineMs
      }
      const started = performance.now()
      let error: UpstreamCallError
      sent.attempts++
      try {
        const result = await this.#options.client.process(current, AbortSignal.any([stopping, deadline]))
        this.#breaker.record(ticket, 'success')
        this.#observer.attempt('10000', (performance.now() - started) / 1000)
        return result
      } catch (raw) {
        if (!(raw instanceof UpstreamCallError)) {
          this.#breaker.record(ticket, 'neutral')
          throw raw
        }
        error = this.#explainAbort(raw, deadline)
        this.#observer.attempt(outcomeLabel(error), (performance.now() - started) / 1000)
        this.#breaker.record(ticket, healthVerdict(error))
      } finally {
        await lease.release()
      }
      lastError = error
      // shutting down: this attempt was sent, so its own error is the answer, never "not called, retry"
      if (this.#stopped) throw error

      const decision = retryDecision(error, { retries, maxRetries: this.#options.retries, seed, reseeded })
      // nobody is waiting for the answer any more
      if (!decision.retry || signal?.aborted === true) throw error
      // throttling that says how long to wait is waited out (if the deadline allows), never hurried
      const delay = decision.reseed ? 0 : Math.max(backoffMs(retries, this.#options.random), error.retryAfterMs ?? 0)
      if (deadline.aborted || performance.now() + delay >= deadlineAt) throw error
      try {
        await sleep(delay, undefined, { signal: AbortSignal.any([deadline, stopping, this.#stop.signal, ...(signal ? [signal] : [])]) })
      } catch {
        // the deadline, the client gone, or the shutdown: this request was sent, its last error is the answer
        throw error
      }
      if (this.#stopped) throw error
      if (decision.reseed) {
        reseeded = true
        current = { ...current, seed: randomSeed(this.#options.random) }
      } else {
        retries++
      }
      const total = retries + (reseeded ? 1 : 0)
      log.warn({ upstream: { kind: error.kind, code: error.upstreamCode, status: error.httpStatus, requestId: error.upstreamRequestId }, retry: total, delayMs: delay }, 'retrying the upstream call')
      this.#observer.retry(decision.reason)
      options.onRetry?.(total)
    }
  }

  /** A slot for this attempt; while waiting to retry, the deadline or a gone client ends with the last error. */
  async #acquire (ticket: BreakerTicket, attempt: AttemptWait): Promise<SlotLease> {
    const { signal, deadline, lastError } = attempt
    let lease: SlotLease
    try {
      const waitSignal = deadline === undefined ? signal : AbortSignal.any([deadline, ...(signal ? [signal] : [])])
      lease = await this.#gate.acquire({ signal: waitSignal, admitted: lastError !== undefined, id: attempt.id, reservation: attempt.reservation })
    } catch (error) {
      this.#breaker.record(ticket, 'neutral')
      // waiting to retry: the last attempt's own error says what happened to this request
      if (lastError !== undefined && error instanceof UpstreamUnavailable) throw lastError
      throw error
    }
    // the circuit opened while this request waited: do not pay for a call that will likely fail
    if (!this.#breaker.allows(ticket)) {
      this.#breaker.record(ticket, 'neutral')
      await lease.release()
      throw this.#refuse('circuit_open', this.#breaker.retryAfterMs() ?? this.#gate.serviceMs)
    }
    return lease
  }

  /** An attempt we cut ourselves: past the overall deadline it is a timeout, at shutdown a call that may be billed. */
  #explainAbort (error: UpstreamCallError, deadline: AbortSignal): UpstreamCallError {
    if (error.kind !== 'aborted') return error
    if (deadline.aborted) return new UpstreamCallError({ kind: 'timeout', code: 'deadline', bodySent: true, ms: error.ms ?? 0 })
    if (this.#stopped) return new UpstreamCallError({ kind: 'aborted', code: 'shutdown', bodySent: true, ms: error.ms ?? 0 })
    return error
  }

  #refuse (reason: UpstreamUnavailable['reason'], retryAfterMs: number): UpstreamUnavailable {
    this.#observer.refused(reason)
    return new UpstreamUnavailable(reason, retryAfterMs)
  }
}
