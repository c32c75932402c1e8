// One FIFO queue for the whole fleet, on BullMQ: every upstream call, a POST /stylize waited for by its
// connection or a job, waits here for one of UPSTREAM_CONCURRENCY slots (BullMQ's global concurrency),
// and any replica's worker runs it. While Redis is lost, POST /stylize falls back to this replica's own
// gate (`local`), as if alone; jobs are refused until Redis is back.
//
// Never paid twice: a worker claims a call (a Redis key, SET NX) right before sending it. A job whose
// worker died is put back by BullMQ's stalled check; a worker that finds its call already claimed ends it
// failed instead of sending it again. A synchronous call also needs its waiter's heartbeat: a waiter
// that left (client gone, replica dead) is never paid for.
import { randomUUID } from 'node:crypto'
import { DelayedError, Queue, Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { BaseLogger } from 'pino'
import type { JobEvents } from '../jobs/events.js'
import { CallInterruptedError, runJob, type JobRunnerDeps } from '../jobs/runner.js'
import type { QueuedCall, QueuePlace } from '../jobs/job.js'
import type { JobQueue } from '../jobs/queue.js'
import type { RedisConnection } from '../redis/connection.js'
import { defineScript, type Script } from '../redis/script.js'
import type { CallOptions, UpstreamCaller } from './caller.js'
import { placeHeld, type Reservation } from './gate.js'
import { UpstreamCallError, type UpstreamResult } from './response.js'
import { ServiceTime } from './service-time.js'
import { UpstreamUnavailable } from './unavailable.js'

type FleetCall =
  | { kind: 'sync', body: Record<string, unknown>, clientSeed: unknown }
  | ({ kind: 'job' } & QueuedCall)

/** What a synchronous call's worker hands back to its waiter. */
type SyncOutcome =
  | { ok: UpstreamResult }
  | { callError: ConstructorParameters<typeof UpstreamCallError>[0] }
  | { unavailable: { reason: UpstreamUnavailable['reason'], retryAfterMs: number, attempts: number } }

// KEYS: the call's claim, its waiter's heartbeat. ARGV: claim ms, '1' for a synchronous call.
const CLAIM_CALL_LUA = `
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[2]) == 0 then return 'gone' end
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 'claimed' end
return 'started'
`

const QUEUE_NAME = 'upstream'
/** a worker that stops renewing its lock for this long is taken for dead */
const LOCK_MS = 15_000
const STALLED_CHECK_MS = 5_000
const WAITER_TTL_MS = 10_000
const OUTCOME_TTL_MS = 120_000
const DEPTH_REFRESH_MS = 250

export interface FleetQueueOptions {
  redis: RedisConnection
  /** runs the calls: its breaker and retry policy; its own gate only while Redis is lost */
  caller: UpstreamCaller
  concurrency: number
  queueMax: number
  queueTimeoutMs: number
  deadlineMs: number
  runner: JobRunnerDeps
  logger: Pick<BaseLogger, 'info' | 'warn' | 'error'>
}

export class FleetQueue implements JobQueue {
  readonly #options: FleetQueueOptions
  readonly #redis: RedisConnection
  readonly #queue: Queue
  readonly #workerConnection: Redis
  readonly #worker: Worker
  readonly #claimCall: Script
  readonly #serviceTime: ServiceTime
  /** a synchronous call's outcome is announced as a change of `sync:<id>` */
  readonly #events: JobEvents
  /** wakes this replica's waiting synchronous calls (shutdown) */
  readonly #stopping = new AbortController()
  /** the shutdown's last moment: waiters whose call runs on another replica answer now */
  readonly #cutting = new AbortController()
  readonly #depthTimer: NodeJS.Timeout
  #depth = 0
  /** this replica's requests admitted (reserve()) and not yet added to the fleet's queue */
  #reserved = 0
  #stopped = false

  constructor (options: FleetQueueOptions) {
    this.#options = options
    const { redis } = options
    this.#redis = redis
    this.#serviceTime = new ServiceTime(Math.min(options.deadlineMs, 5000))
    const prefix = `${redis.prefix}bull`
    this.#queue = new Queue(QUEUE_NAME, { connection: redis.client, prefix, streams: { events: { maxLen: 1000 } } })
    this.#queue.on('error', (error) => { options.logger.warn({ reason: error.message }, 'fleet queue error') })
    // Workers block on Redis: a connection of their own that waits out an outage instead of failing fast.
    this.#workerConnection = redis.client.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true, commandTimeout: undefined })
    this.#workerConnection.on('error', () => {}) // the main connection's state logs outages
    this.#worker = new Worker<FleetCall>(QUEUE_NAME, async (job, token) => { await this.#process(job, token) }, {
      connection: this.#workerConnection,
      prefix,
      concurrency: options.concurrency,
      lockDuration: LOCK_MS,
      stalledInterval: STALLED_CHECK_MS,
      // a stalled job comes back once, and its claim then tells whether its call was already sent
      maxStalledCount: 1
    })
    this.#worker.on('error', (error) => { options.logger.warn({ reason: error.message }, 'fleet worker error') })
    this.#worker.on('failed', (job, error) => {
      if (job !== undefined) void this.#failedByQueue(job, error)
    })
    this.#claimCall = defineScript(redis.client, 'stylizeClaimCall', 2, CLAIM_CALL_LUA)
    this.#events = options.runner.events
    // every replica sets the account's limit; a Redis that restarted empty learns it again
    const setLimit = (): void => { this.#queue.setGlobalConcurrency(options.concurrency).catch(() => {}) }
    setLimit()
    redis.state.onChange((up) => { if (up) setLimit() })
    this.#depthTimer = setInterval(() => { void this.#refreshDepth() }, DEPTH_REFRESH_MS)
    this.#depthTimer.unref()
  }

  /** the workers' connection, which waits out a Redis outage (for other BullMQ workers of this replica) */
  get workerConnection (): Redis {
    return this.#workerConnection
  }

  /** calls waiting in the fleet's queue (refreshed a few times a second) */
  get depth (): number {
    return this.#depth
  }

  available (): boolean {
    return this.#redis.state.up && !this.#stopped
  }

  refusalNow (): UpstreamUnavailable | undefined {
    if (!this.#redis.state.up) return this.#options.caller.refusalNow()
    if (this.#stopped) return new UpstreamUnavailable('shutting_down', 1000)
    const local = this.#options.caller.refusalNow()
    if (local !== undefined && local.reason !== 'queue_full') return local
    if (this.#options.queueMax > 0 && this.#depth >= this.#options.queueMax) {
      return new UpstreamUnavailable('queue_full', this.#serviceTime.estimateWaitMs(this.#depth, this.#options.concurrency))
    }
    return undefined
  }

  /**
   * refusalNow(), and when there is none a place counted from now until this request's call is added to
   * the fleet's queue (so that a burst on this replica cannot all pass at once); without Redis, the gate's.
   */
  reserve (): UpstreamUnavailable | Reservation {
    if (!this.#redis.state.up) return this.#options.caller.reserve()
    const refusal = this.refusalNow()
    if (refusal !== undefined) return refusal
    if (this.#options.queueMax > 0 && this.#depth + this.#reserved >= this.#options.queueMax) {
      return new UpstreamUnavailable('queue_full', this.#serviceTime.estimateWaitMs(this.#depth + this.#reserved, this.#options.concurrency))
    }
    this.#reserved++
    return placeHeld(this, () => { this.#reserved-- })
  }

  /** POST /stylize: the call, through the fleet's queue while Redis answers, else this replica's gate. */
  async call (body: Record<string, unknown>, options: CallOptions = {}): Promise<UpstreamResult> {
    if (!this.#redis.state.up) return await this.#options.caller.call(body, options)
    const refusal = this.refusalNow()
    if (refusal !== undefined) throw refusal
    const id = randomUUID()
    const waiterKey = this.#waiterKey(id)
    try {
      await this.#redis.client.set(waiterKey, '1', 'PX', WAITER_TTL_MS)
      await this.#queue.add('sync', { kind: 'sync', body, clientSeed: options.clientSeed }, { jobId: id, removeOnComplete: true, removeOnFail: true })
      // in the fleet's queue now, where its depth counts it
      options.reservation?.release()
    } catch {
      // Redis failed just now: this replica acts alone; should the add have landed, no worker sends it (no waiter)
      await this.#redis.client.del(waiterKey).catch(() => {})
      await this.cancel(id)
      return await this.#options.caller.call(body, options)
    }
    return await this.#awaitOutcome(id, options.signal)
  }

  async submit (call: QueuedCall): Promise<void> {
    const refusal = this.refusalNow()
    if (refusal !== undefined) throw refusal
    await this.#queue.add('job', { kind: 'job', ...call }, { jobId: call.jobId, removeOnComplete: true, removeOnFail: true })
  }

  async place (jobId: string): Promise<QueuePlace | undefined> {
    const waitKey = this.#queue.keys.wait as string
    const [index, length] = await Promise.all([
      this.#redis.client.call('LPOS', waitKey, jobId) as Promise<number | null>,
      this.#redis.client.llen(waitKey)
    ]).catch(() => [null, 0] as const)
    // BullMQ adds on the left and takes from the right: the rightmost is next
    const position = index === null ? 1 : length - index
    return { position, estimatedWaitMs: this.#serviceTime.estimateWaitMs(position - 1, this.#options.concurrency) }
  }

  async cancel (jobId: string): Promise<boolean> {
    // BullMQ removes a job only while no worker holds its lock
    return await this.#queue.remove(jobId).then((removed) => removed === 1, () => false)
  }

  /** Shutdown's deadline: this replica's waiters still queued are refused; jobs stay queued for the fleet. */
  stop (): void {
    this.#stopped = true
    // take no more calls: what is still queued waits for the other replicas, or for the restart
    this.#worker.pause(true).catch(() => {})
    this.#stopping.abort()
  }

  /**
   * The shutdown's last moment: a waiter of this replica whose call another replica's worker is running
   * answers now (502, maybe billed), since this process is about to exit; its client would get nothing.
   */
  cut (): void {
    this.stop()
    this.#cutting.abort()
  }

  async close (): Promise<void> {
    this.#stopped = true
    clearInterval(this.#depthTimer)
    await this.#worker.close()
    await this.#queue.close()
  }

  /** After every worker on it has closed (this queue's, the webhooks'). */
  async closeConnection (): Promise<void> {
    try { await this.#workerConnection.quit() } catch { this.#workerConnection.disconnect() }
  }

  /** Waits for a synchronous call's outcome; leaves the queue when the client goes, the wait runs out or we stop. */
  async #awaitOutcome (id: string, signal: AbortSignal | undefined): Promise<UpstreamResult> {
    const { queueTimeoutMs, deadlineMs } = this.#options
    let leaving: UpstreamUnavailable | undefined
    const heartbeat = setInterval(() => {
      if (leaving === undefined) this.#redis.client.pexpire(this.#waiterKey(id), WAITER_TTL_MS).catch(() => {})
    }, WAITER_TTL_MS / 3)
    const startedAt = performance.now()
    try {
      for (;;) {
        const outcome = await this.#readOutcome(id)
        if (outcome !== undefined) return this.#settle(outcome)
        const waited = performance.now() - startedAt
        if (leaving === undefined) {
          if (this.#stopped) leaving = new UpstreamUnavailable('shutting_down', 1000)
          else if (signal?.aborted === true) leaving = new UpstreamUnavailable('cancelled', 0)
          else if (waited >= queueTimeoutMs) leaving = new UpstreamUnavailable('queue_timeout', this.#serviceTime.estimateWaitMs(this.#depth, this.#options.concurrency))
          if (leaving !== undefined && await this.#leave(id)) throw leaving
        }
        if (waited >= queueTimeoutMs + deadlineMs + 5000) throw new UpstreamCallError({ kind: 'timeout', code: 'deadline', bodySent: true })
        if (this.#cutting.signal.aborted) throw new UpstreamCallError({ kind: 'aborted', code: 'shutdown', bodySent: true, attempts: 1 })
        // a notice lost with a Redis blip is made up for by looking again every second
        // (once leaving, only the outcome, or the shutdown's last moment, wakes it)
        const wake = leaving !== undefined ? this.#cutting.signal : AbortSignal.any([this.#stopping.signal, ...(signal === undefined ? [] : [signal])])
        await this.#events.next(`sync:${id}`, Math.min(1000, Math.max(1, queueTimeoutMs - waited)), wake)
      }
    } finally {
      clearInterval(heartbeat)
      this.#redis.client.del(this.#waiterKey(id), this.#outcomeKey(id)).catch(() => {})
    }
  }

  /**
   * Takes a synchronous call back before it is sent: without its waiter's heartbeat no worker will claim
   * it. False when a worker claimed it already: its outcome is then awaited all the same.
   */
  async #leave (id: string): Promise<boolean> {
    try {
      await this.#redis.client.del(this.#waiterKey(id))
      await this.cancel(id)
      return await this.#redis.client.exists(this.#callKey(id)) === 0
    } catch {
      return false
    }
  }

  async #readOutcome (id: string): Promise<SyncOutcome | undefined> {
    const text = await this.#redis.client.get(this.#outcomeKey(id)).catch(() => null)
    return text === null ? undefined : JSON.parse(text) as SyncOutcome
  }

  #settle (outcome: SyncOutcome): UpstreamResult {
    if ('ok' in outcome) return outcome.ok
    if ('callError' in outcome) throw new UpstreamCallError(outcome.callError)
    const { reason, retryAfterMs, attempts } = outcome.unavailable
    throw Object.assign(new UpstreamUnavailable(reason, retryAfterMs), { attempts })
  }

  /** A worker's turn: the call, sent at most once, with the slot BullMQ gave it. */
  async #process (job: Job<FleetCall>, token: string | undefined): Promise<void> {
    const id = job.id as string
    const data = job.data
    if (this.#stopped && data.kind === 'job') {
      // taken just as this replica stops: back in the queue, unsent, for another replica
      await job.moveToDelayed(Date.now() + 1000, token)
      throw new DelayedError()
    }
    const claim = async (): Promise<void> => {
      const claimed = await this.#claimCall([this.#callKey(id), this.#waiterKey(id)], [this.#claimTtlMs, data.kind === 'sync' ? '1' : '0'])
      if (claimed === 'gone') throw new UpstreamUnavailable('cancelled', 0)
      if (claimed === 'started') throw new CallInterruptedError()
    }
    const started = performance.now()
    const send = async (options: Pick<CallOptions, 'clientSeed' | 'beforeCall' | 'log'>): Promise<UpstreamResult> => {
      try {
        return await this.#options.caller.call(data.body, {
          ...options,
          slotHeld: true,
          beforeCall: async () => {
            await claim()
            await options.beforeCall?.()
          }
        })
      } finally {
        this.#serviceTime.record(performance.now() - started)
      }
    }
    if (data.kind === 'job') return await runJob(this.#options.runner, data, send)
    let outcome: SyncOutcome
    try {
      outcome = { ok: await send({ clientSeed: data.clientSeed }) }
    } catch (error) {
      outcome = this.#outcomeOf(error)
    }
    await this.#redis.client.set(this.#outcomeKey(id), JSON.stringify(outcome), 'PX', OUTCOME_TTL_MS)
    await this.#events.changed(`sync:${id}`)
  }

  #outcomeOf (error: unknown): SyncOutcome {
    if (error instanceof UpstreamUnavailable) return { unavailable: { reason: error.reason, retryAfterMs: error.retryAfterMs, attempts: error.attempts } }
    if (error instanceof CallInterruptedError) return { callError: { kind: 'connect', code: 'worker_stopped', bodySent: true, attempts: 1 } }
    if (error instanceof UpstreamCallError) {
      return {
        callError: {
          kind: error.kind,
          code: error.upstreamCode,
          httpStatus: error.httpStatus,
          upstreamRequestId: error.upstreamRequestId,
          upstreamMessage: error.upstreamMessage,
          bodySent: error.bodySent,
          attempts: error.attempts,
          retryAfterMs: error.retryAfterMs,
          ...(error.ms === undefined ? {} : { ms: error.ms })
        }
      }
    }
    this.#options.logger.error({ err: error }, 'fleet call failed')
    return { callError: { kind: 'malformed', code: 'internal', bodySent: true, attempts: 0 } }
  }

  /** BullMQ gave up on a job itself (stalled twice): its job, if any, ends failed. */
  async #failedByQueue (job: Job<FleetCall>, error: Error): Promise<void> {
    if (job.data.kind !== 'job') return
    this.#options.logger.warn({ jobId: job.data.jobId, reason: error.message }, 'fleet queue gave up on a job')
    await runJob(this.#options.runner, job.data, async () => { throw new CallInterruptedError() }).catch(() => {})
  }

  async #refreshDepth (): Promise<void> {
    if (!this.#redis.state.up) return
    this.#depth = await this.#queue.getWaitingCount().catch(() => this.#depth)
  }

  /** longer than any waiter and any stalled comeback, so a claim is never forgotten while it matters */
  get #claimTtlMs (): number {
    return this.#options.queueTimeoutMs + this.#options.deadlineMs + LOCK_MS + STALLED_CHECK_MS + 60_000
  }

  #waiterKey (id: string): string {
    return `${this.#redis.prefix}sync:${id}:waiter`
  }

  #outcomeKey (id: string): string {
    return `${this.#redis.prefix}sync:${id}:outcome`
  }

  #callKey (id: string): string {
    return `${this.#redis.prefix}call:${id}`
  }
}
