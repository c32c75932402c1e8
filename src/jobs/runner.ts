// What happens to a job when a worker takes it: the upstream call (through the caller's breaker and
// retry policy), then its result or error kept on the job, the quota settled, the webhook sent.
import type { FastifyBaseLogger } from 'fastify'
import { mimeTypeOf } from '../image/sniff.js'
import type { DailyQuota } from '../limits/quota.js'
import type { CallOptions } from '../upstream/caller.js'
import { toClientError } from '../upstream/outcome.js'
import { UpstreamCallError, type UpstreamResult } from '../upstream/response.js'
import { UpstreamUnavailable } from '../upstream/unavailable.js'
import type { JobEvents } from './events.js'
import type { JobError, JobRecord, JobStatus, QueuedCall } from './job.js'
import type { JobStore } from './store.js'

/** A job's call had already started when its worker died: it is not sent again, since it may have been billed. */
export class CallInterruptedError extends Error {
  constructor () {
    super('the call had already started on a worker that stopped')
    this.name = 'CallInterruptedError'
  }
}

/** The job left the queue before its call (cancelled, or expired): nothing to do, nothing paid. */
class JobGoneError extends Error {}

const INTERRUPTED: JobError = {
  statusCode: 502,
  code: 'UPSTREAM_ERROR',
  message: 'the worker running this job stopped during its upstream call; it is not run again, since that call may have been billed'
}

export interface JobRunnerDeps {
  store: JobStore
  events: JobEvents
  quota: DailyQuota
  log: FastifyBaseLogger
  /** told of each job that ends, with its final record (webhooks, metrics) */
  onFinished?: (record: JobRecord) => void
}

/** Sends the call; `beforeCall` must run with the slot held, right before the first attempt. */
export type SendCall = (options: Pick<CallOptions, 'clientSeed' | 'beforeCall' | 'log'>) => Promise<UpstreamResult>

function errorOf (error: unknown): JobError {
  const clientError = error instanceof UpstreamCallError || error instanceof UpstreamUnavailable ? toClientError(error) : undefined
  if (clientError === undefined) return { statusCode: 500, code: 'INTERNAL_ERROR', message: 'internal error' }
  const { statusCode, code, message } = clientError as Error & { statusCode: number, code: string }
  return { statusCode, code, message }
}

export async function runJob (deps: JobRunnerDeps, call: QueuedCall, send: SendCall): Promise<void> {
  const { store, events } = deps
  const record = await store.get(call.jobId)
  if (record === undefined || record.status !== 'queued') {
    // "running" here means an earlier worker took it and died: its call may have been sent and billed
    if (record?.status === 'running') await finish(deps, record, 'failed', { error: INTERRUPTED, upstreamAttempts: 1 })
    return
  }
  const log = deps.log.child({ requestId: record.requestId, jobId: record.id })
  let result: UpstreamResult
  let sent = false
  try {
    result = await send({
      clientSeed: call.clientSeed,
      log,
      beforeCall: async () => {
        // only a job still queued starts: a cancel that won the race keeps it unsent
        const running = await store.update(record.id, { status: 'running', startedAt: new Date().toISOString() }, ['queued'])
        if (running === undefined) throw new JobGoneError()
        sent = true
        await events.changed(record.id)
      }
    })
  } catch (error) {
    if (error instanceof JobGoneError || (error instanceof UpstreamUnavailable && error.reason === 'cancelled')) return
    // cut after it was sent (the shutdown deadline): it may have been billed, so not "retry later"
    if (error instanceof CallInterruptedError || (sent && error instanceof UpstreamUnavailable)) {
      return await finish(deps, record, 'failed', { error: INTERRUPTED, upstreamAttempts: Math.max(1, attemptsOf(error)) })
    }
    if (error instanceof UpstreamCallError) {
      log.warn({ upstream: { kind: error.kind, code: error.upstreamCode, status: error.httpStatus, requestId: error.upstreamRequestId } }, 'job upstream call failed')
    } else if (!(error instanceof UpstreamUnavailable)) {
      log.error({ err: error }, 'job failed')
    }
    return await finish(deps, record, 'failed', { error: errorOf(error), upstreamAttempts: attemptsOf(error) })
  }
  const upstreamAttempts = result.attempts ?? 1
  if (result.imageBase64 === undefined) {
    return await finish(deps, record, 'succeeded', {
      result: { mimeType: 'image/jpeg', upstreamImageUrl: result.imageUrl, upstreamRequestId: result.upstreamRequestId ?? null },
      upstreamAttempts
    })
  }
  const bytes = Buffer.from(result.imageBase64, 'base64')
  await store.setImage(record.id, bytes)
  await finish(deps, record, 'succeeded', { result: { mimeType: mimeTypeOf(bytes), upstreamRequestId: result.upstreamRequestId ?? null }, upstreamAttempts })
}

function attemptsOf (error: unknown): number {
  return error instanceof UpstreamCallError || error instanceof UpstreamUnavailable ? error.attempts : 0
}

async function finish (deps: JobRunnerDeps, record: JobRecord, status: JobStatus, patch: Partial<JobRecord>): Promise<void> {
  // once: a job another worker already ended (this one lost its lock meanwhile) keeps its end
  const finished = await deps.store.update(record.id, { status, finishedAt: new Date().toISOString(), ...patch }, ['queued', 'running'])
  if (finished === undefined) return
  if (status === 'failed' && record.quotaDay !== undefined) await deps.quota.giveBack(record.keyId, record.quotaDay)
  await deps.events.changed(record.id)
  deps.log.info({ requestId: record.requestId, jobId: record.id, status, code: patch.error?.code }, 'job finished')
  deps.onFinished?.(finished)
}
