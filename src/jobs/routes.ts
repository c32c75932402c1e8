// POST /jobs, GET /jobs/<id> (?wait= long poll), GET /jobs/<id>/image, DELETE /jobs/<id>: a stylization
// submitted now and collected later. Everything that can be judged before the upstream is judged before
// the 202, exactly as POST /stylize judges it (stylize/call.ts); then the job waits in the one queue.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config-types.js'
import { InvalidRequestError, JobNotCancellableError, NotFoundError, UpstreamBusyError, withRetryAfter } from '../errors.js'
import type { ClientKey } from '../keys/store.js'
import { readIdempotencyKey } from '../limits/idempotency-key.js'
import type { Idempotency } from '../limits/idempotency.js'
import type { DailyQuota } from '../limits/quota.js'
import { readStylizeCall, upstreamBody } from '../stylize/call.js'
import { clientGoneSignal } from '../stylize/client-gone.js'
import { compileFields, jsonBodyLimit } from '../stylize/input.js'
import type { Preset } from '../stylize/presets.js'
import { toClientError } from '../upstream/outcome.js'
import { UpstreamUnavailable } from '../upstream/unavailable.js'
import type { JobEvents } from './events.js'
import { FINAL_STATUSES, jobView, newJobId, type JobRecord, type JobView } from './job.js'
import type { JobQueue } from './queue.js'
import { JobFieldsSchema } from './schema.js'
import type { JobStore } from './store.js'
import { checkWebhookUrl } from './webhook-url.js'

export interface JobRoutesOptions {
  config: Config
  presets: () => Record<string, Preset>
  queue: JobQueue
  store: JobStore
  events: JobEvents
  quota: DailyQuota
  idempotency: Idempotency
  onQueued?: () => void
  /** a job ended here (cancelled); the workers tell of the others */
  onFinished?: (record: JobRecord) => void
}

const jobFields = compileFields(JobFieldsSchema)
const MAX_WAIT_S = 30
/** a long poll looks again this often, in case a change notice was lost with Redis */
const WAIT_LOOK_MS = 1000

function parseWait (raw: unknown): number {
  if (raw === undefined) return 0
  const wait = typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN
  if (!(wait >= 0 && wait <= MAX_WAIT_S)) throw new InvalidRequestError(`wait: must be a number of seconds from 0 to ${MAX_WAIT_S}`)
  return wait
}

const STORE_RETRY_AFTER_S = 5

/** A store that failed mid-request (a Redis blip): the client's retry will do, as for a lost Redis. */
async function fromStore<T> (work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch {
    throw withRetryAfter(new UpstreamBusyError('the job store did not answer, retry later'), STORE_RETRY_AFTER_S)
  }
}

/** The proxy's own URL of a job's image: absolute when a trusted proxy said how the client reached us. */
function imageUrlOf (request: FastifyRequest, config: Config, id: string): string {
  const path = `/jobs/${id}/image`
  const forwarded = request.headers['x-forwarded-host'] !== undefined || request.headers['x-forwarded-proto'] !== undefined
  return config.trustProxy !== false && config.trustProxy !== 0 && forwarded ? `${request.protocol}://${request.host}${path}` : path
}

export async function jobRoutes (app: FastifyInstance, options: JobRoutesOptions): Promise<void> {
  const { config, queue, store, events } = options
  // long polls answer at once when the service begins to stop, rather than holding the shutdown
  const closing = new AbortController()
  app.addHook('preClose', async () => { closing.abort() })

  /** 503 while a durable job cannot be promised (Redis lost): nothing is accepted that could be lost. */
  const requireStore = (): void => {
    if (!queue.available()) throw withRetryAfter(new UpstreamBusyError('jobs are unavailable while the job store is unreachable, retry later'), STORE_RETRY_AFTER_S)
  }

  const view = async (request: FastifyRequest, record: JobRecord): Promise<JobView> =>
    jobView(record, record.status === 'queued' ? await queue.place(record.id) : undefined, imageUrlOf(request, config, record.id))

  /** The caller's own job; any other key's is as missing as one that never was. */
  const ownJob = async (request: FastifyRequest<{ Params: { id: string } }>): Promise<JobRecord> => {
    requireStore()
    const record = /^[A-Za-z0-9_-]{22}$/.test(request.params.id) ? await fromStore(store.get(request.params.id)) : undefined
    if (record === undefined || record.keyId !== (request.clientKey as ClientKey).id) throw new NotFoundError('no such job')
    return record
  }

  const accepted = async (request: FastifyRequest, reply: FastifyReply, record: JobRecord, replayed: boolean): Promise<JobView> => {
    if (replayed) {
      void reply.header('idempotent-replayed', 'true')
      request.completion.replayed = true
    }
    void reply.code(202).header('location', `/jobs/${record.id}`)
    return await view(request, record)
  }

  app.post('/jobs', {
    bodyLimit: jsonBodyLimit(config.maxUploadBytes),
    config: { requiresKey: true, countsUsage: true, imageWork: true }
  }, async (request, reply) => {
    const key = request.clientKey as ClientKey
    requireStore()
    const idempotencyKey = readIdempotencyKey(request.headers)
    const refusal = idempotencyKey === undefined ? queue.refusalNow() : undefined
    if (refusal !== undefined) throw toClientError(refusal)
    const call = await readStylizeCall(request, { config, presets: options.presets(), extraFields: jobFields })
    const webhookUrl = call.extra.webhook_url as string | undefined
    if (webhookUrl !== undefined) await checkWebhookUrl(webhookUrl, config)

    // a retried submit gets the job it made the first time (scoped apart from /stylize's keys)
    const started = idempotencyKey === undefined
      ? undefined
      : await options.idempotency.begin(`jobs/${key.id}`, idempotencyKey, call.fingerprint())
    if (started?.kind === 'replay') {
      const kept = started.result.outcome === 'job' ? await fromStore(store.get(started.result.jobId)) : undefined
      if (kept !== undefined) return await accepted(request, reply, kept, true)
      throw new NotFoundError('the job made under this Idempotency-Key has expired')
    }
    await using claim = started?.claim

    const body = await upstreamBody(request, call, config, clientGoneSignal(request, reply))
    await using reservation = await options.quota.reserve(key)
    const record: JobRecord = {
      id: newJobId(),
      keyId: key.id,
      status: 'queued',
      createdAt: new Date().toISOString(),
      preset: call.presetName,
      requestId: request.id,
      ...(webhookUrl === undefined ? {} : { webhookUrl, webhook: { attempts: 0, delivered: false, last_status: null } }),
      ...(reservation === undefined ? {} : { quotaDay: reservation.day }),
      ...(request.completion.bytesUp === undefined ? {} : { bytesUp: request.completion.bytesUp })
    }
    await fromStore(store.create(record))
    try {
      await queue.submit({ jobId: record.id, body, clientSeed: call.parameters.seed })
    } catch (error) {
      // never queued: nobody will ask for it, and the reservation is given back with the scope
      await store.update(record.id, { status: 'failed', finishedAt: new Date().toISOString() }).catch(() => {})
      if (error instanceof UpstreamUnavailable) throw toClientError(error)
      throw withRetryAfter(new UpstreamBusyError('the job could not be queued, retry later'), STORE_RETRY_AFTER_S)
    }
    // the worker gives the call back if the job fails
    reservation?.keep()
    await claim?.complete({ outcome: 'job', jobId: record.id })
    request.log.info({ jobId: record.id }, 'job queued')
    options.onQueued?.()
    return await accepted(request, reply, record, false)
  })

  app.get<{ Params: { id: string }, Querystring: { wait?: string } }>('/jobs/:id', { config: { requiresKey: true } }, async (request, reply) => {
    const waitMs = parseWait(request.query.wait) * 1000
    let record = await ownJob(request)
    if (waitMs > 0 && !FINAL_STATUSES.has(record.status)) {
      const until = performance.now() + waitMs
      const gone = AbortSignal.any([clientGoneSignal(request, reply), closing.signal])
      for (let left = waitMs; left > 0 && !gone.aborted && !FINAL_STATUSES.has(record.status); left = until - performance.now()) {
        await events.next(record.id, Math.min(left, WAIT_LOOK_MS), gone)
        record = await fromStore(store.get(record.id)) ?? record
      }
    }
    return await view(request, record)
  })

  app.get<{ Params: { id: string } }>('/jobs/:id/image', { config: { requiresKey: true } }, async (request, reply) => {
    const record = await ownJob(request)
    const image = record.status === 'succeeded' && record.result?.upstreamImageUrl === undefined ? await fromStore(store.getImage(record.id)) : undefined
    if (image === undefined || record.result === undefined) {
      throw new NotFoundError(record.result?.upstreamImageUrl === undefined ? 'the job has no image yet' : 'this job\'s image is at its result.image_url')
    }
    request.completion.bytesOut = image.length
    return reply.type(record.result.mimeType).send(image)
  })

  app.delete<{ Params: { id: string } }>('/jobs/:id', { config: { requiresKey: true } }, async (request) => {
    const record = await ownJob(request)
    // the record decides, atomically: a worker starts a job only while it is still queued
    const cancelled = await fromStore(store.update(record.id, { status: 'cancelled', finishedAt: new Date().toISOString() }, ['queued']))
    if (cancelled === undefined) {
      const now = await fromStore(store.get(record.id)) ?? record
      throw new JobNotCancellableError(`the job is ${now.status}; only a queued job can be cancelled`)
    }
    // out of the queue too, so that it holds no place (a worker that has it already will skip it)
    await queue.cancel(record.id).catch(() => false)
    if (record.quotaDay !== undefined) await options.quota.giveBack(record.keyId, record.quotaDay)
    await events.changed(record.id)
    request.log.info({ jobId: record.id }, 'job cancelled')
    options.onFinished?.(cancelled)
    return await view(request, cancelled)
  })
}
