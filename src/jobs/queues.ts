// Picks the one queue every upstream call waits in, with the job store and change notices that go with it:
// BullMQ and Redis for the fleet when REDIS_URL is set, this process's gate and memory otherwise.
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
import type { RetryScheduler, WebhookSender } from './webhook.js'
import { WebhookQueue } from './webhook-queue.js'

export interface Queues {
  /** what POST /stylize calls */
  upstream: Pick<UpstreamCaller, 'refusalNow' | 'call'>
  jobs: JobQueue
  store: JobStore
  events: JobEvents
  /** shutdown's deadline: refuse what still waits on this replica */
  stop: () => void
  /** calls waiting in the (fleet's) queue */
  depth: () => number
  /** with Redis: webhook retries on the fleet's durable queue */
  durableWebhooks?: (sender: WebhookSender) => RetryScheduler
}

export function createQueues (
  app: FastifyInstance,
  config: Config,
  deps: { redis: RedisConnection | undefined, caller: UpstreamCaller, quota: DailyQuota, onFinished?: JobRunnerDeps['onFinished'] }
): Queues {
  const { redis, caller } = deps
  const store = redis === undefined ? new MemoryJobStore(config.jobTtlMs) : new RedisJobStore(redis, config.jobTtlMs)
  const events = new JobEvents(redis)
  const runner: JobRunnerDeps = { store, events, quota: deps.quota, log: app.log, onFinished: deps.onFinished }
  if (redis === undefined || config.redisUrl === undefined) {
    const local = new LocalJobQueue(caller, runner)
    app.addHook('onClose', async () => { await local.drain(); await store.close() })
    return { upstream: caller, jobs: local, store, events, stop: () => {}, depth: () => caller.stats.queueDepth }
  }
  const fleet = new FleetQueue({
    redis,
    url: config.redisUrl,
    caller,
    concurrency: config.upstreamConcurrency,
    queueMax: config.upstreamQueueMax,
    queueTimeoutMs: config.upstreamQueueTimeoutMs,
    deadlineMs: config.upstreamDeadlineMs,
    runner,
    logger: app.log
  })
  app.addHook('onClose', async () => { await fleet.close() })
  return {
    upstream: fleet,
    jobs: fleet,
    store,
    events,
    stop: () => { fleet.stop() },
    depth: () => fleet.depth,
    durableWebhooks: (sender) => new WebhookQueue(redis, fleet.workerConnection, sender, store)
  }
}
