// Picks the one queue every upstream call waits in, with the job store, change notices and webhooks that go
// with it: BullMQ and Redis for the fleet when REDIS_URL is set, this process's gate and memory otherwise.
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config-types.js'
import type { DailyQuota } from '../limits/quota.js'
import type { RedisConnection } from '../redis/connection.js'
import type { UpstreamCaller } from '../upstream/caller.js'
import { FleetQueue } from '../upstream/fleet-queue.js'
import { JobEvents } from './events.js'
import { LocalJobQueue, type JobQueue } from './queue.js'
import type { JobRunnerDeps } from './runner.js'
import { MemoryJobStore, type JobStore } from './store.js'
import { RedisJobStore } from './store-redis.js'
import type { Metrics } from '../ops/metrics.js'
import type { JobRecord } from './job.js'
import { WebhookSender } from './webhook.js'
import { WebhookQueue } from './webhook-queue.js'
import { jobEndCounts } from '../usage/counts.js'
import type { UsageLedger } from '../usage/ledger.js'

export interface Queues {
  /** what POST /stylize calls */
  upstream: Pick<UpstreamCaller, 'reserve' | 'call'>
  jobs: JobQueue
  store: JobStore
  events: JobEvents
  /** shutdown's deadline: refuse what still waits on this replica */
  stop: () => void
  /** shutdown's last moment: answer the waiters whose call runs elsewhere */
  cut: () => void
  /** a job ended (its metrics, its usage, its webhook) */
  finished: (record: JobRecord) => void
}

export function createQueues (
  app: FastifyInstance,
  config: Config,
  deps: { redis: RedisConnection | undefined, caller: UpstreamCaller, quota: DailyQuota, metrics: Metrics, ledger: UsageLedger }
): Queues {
  const { redis, caller, metrics } = deps
  const store = redis === undefined ? new MemoryJobStore(config.jobTtlMs) : new RedisJobStore(redis, config.jobTtlMs)
  const events = new JobEvents(redis)
  const webhooks = config.webhookSecret === undefined
    ? undefined
    : new WebhookSender({
      secret: config.webhookSecret,
      maxAttempts: config.webhookMaxAttempts,
      allowHosts: config.webhookAllowHosts,
      store,
      log: app.log,
      onOutcome: (outcome) => { metrics.webhookOutcome(outcome) }
    })
  const finished = (record: JobRecord): void => {
    metrics.jobStatus(record.status)
    const counts = jobEndCounts(record)
    // on the day it was submitted, as its bytes and its quota were
    if (counts !== undefined) deps.ledger.count(record.keyId, counts, new Date(record.createdAt))
    webhooks?.deliver(record)
  }
  const runner: JobRunnerDeps = { store, events, quota: deps.quota, log: app.log, onFinished: finished }
  // onClose hooks run last-added first: the webhooks close after the queue, so jobs ending in its drain still call back
  const closeWebhooks = async (): Promise<void> => { await webhooks?.close() }
  if (redis === undefined) {
    const local = new LocalJobQueue(caller, runner)
    app.addHook('onClose', closeWebhooks)
    app.addHook('onClose', async () => { await local.drain(); await store.close() })
    metrics.watchFleetDepth(() => caller.stats.queueDepth)
    return { upstream: caller, jobs: local, store, events, stop: () => {}, cut: () => {}, finished }
  }
  const fleet = new FleetQueue({
    redis,
    caller,
    concurrency: config.upstreamConcurrency,
    queueMax: config.upstreamQueueMax,
    queueTimeoutMs: config.upstreamQueueTimeoutMs,
    deadlineMs: config.upstreamDeadlineMs,
    runner,
    logger: app.log
  })
  // last of all the workers' connection, which the webhook queue's worker uses too
  app.addHook('onClose', async () => { await fleet.closeConnection() })
  app.addHook('onClose', closeWebhooks)
  app.addHook('onClose', async () => { await fleet.close() })
  // webhook retries on the fleet's durable queue, so that a replica that stops does not drop them
  webhooks?.schedule(new WebhookQueue(redis, fleet.workerConnection, webhooks, store))
  metrics.watchFleetDepth(() => fleet.depth)
  return { upstream: fleet, jobs: fleet, store, events, stop: () => { fleet.stop() }, cut: () => { fleet.cut() }, finished }
}
