// Where a job waits for the upstream: the interface the routes use, and its in-memory form for a
// service without Redis, where jobs wait in the same FIFO gate as POST /stylize (upstream/gate.ts).
import type { UpstreamCaller } from '../upstream/caller.js'
import { UpstreamUnavailable } from '../upstream/unavailable.js'
import type { QueuedCall, QueuePlace } from './job.js'
import { runJob, type JobRunnerDeps } from './runner.js'

export interface JobQueue {
  /** a durable job can be promised now (false while Redis is lost) */
  available: () => boolean
  /** the refusal a job submitted now would get (full queue, open circuit, shutdown) */
  refusalNow: () => UpstreamUnavailable | undefined
  /** queues the call; the job record must exist already */
  submit: (call: QueuedCall) => Promise<void>
  /** where a queued job stands in the (fleet's) queue */
  place: (jobId: string) => Promise<QueuePlace | undefined>
  /** takes a job out of the queue (its record already says cancelled); false once a worker has it */
  cancel: (jobId: string) => Promise<boolean>
}

export class LocalJobQueue implements JobQueue {
  readonly #caller: UpstreamCaller
  readonly #runner: JobRunnerDeps
  /** jobs not yet past their worker's beforeCall: aborting takes them out of the gate's queue */
  readonly #waiting = new Map<string, AbortController>()
  readonly #running = new Set<Promise<void>>()

  constructor (caller: UpstreamCaller, runner: JobRunnerDeps) {
    this.#caller = caller
    this.#runner = runner
  }

  available (): boolean {
    return true
  }

  refusalNow (): UpstreamUnavailable | undefined {
    return this.#caller.refusalNow()
  }

  async submit (call: QueuedCall): Promise<void> {
    const refusal = this.#caller.refusalNow()
    if (refusal !== undefined) throw refusal
    const leave = new AbortController()
    this.#waiting.set(call.jobId, leave)
    const run = runJob(this.#runner, call, async (options) => await this.#caller.call(call.body, {
      ...options,
      signal: leave.signal,
      queueId: call.jobId,
      beforeCall: async () => {
        // cancelled in the moment between its slot and its call: it stays unsent
        if (!this.#waiting.delete(call.jobId)) throw new UpstreamUnavailable('cancelled', 0)
        await options.beforeCall?.()
      }
    })).catch((error: unknown) => { this.#runner.log.error({ err: error, jobId: call.jobId }, 'job runner failed') })
      .finally(() => {
        this.#waiting.delete(call.jobId)
        this.#running.delete(run)
      })
    this.#running.add(run)
  }

  async place (jobId: string): Promise<QueuePlace | undefined> {
    const position = this.#caller.position(jobId)
    if (position === undefined) return this.#waiting.has(jobId) ? { position: 1, estimatedWaitMs: this.#caller.estimateWaitMs(0) } : undefined
    return { position, estimatedWaitMs: this.#caller.estimateWaitMs(position - 1) }
  }

  async cancel (jobId: string): Promise<boolean> {
    const leave = this.#waiting.get(jobId)
    if (leave === undefined) return false
    this.#waiting.delete(jobId)
    leave.abort()
    return true
  }

  /** Waits for the jobs already running (shutdown). */
  async drain (): Promise<void> {
    await Promise.all([...this.#running])
  }
}
