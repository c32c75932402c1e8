// Webhook retries that outlive a replica: each later attempt is a delayed BullMQ job, run by any replica.
import { Queue, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import type { RedisConnection } from '../redis/connection.js'
import type { JobRecord } from './job.js'
import type { JobStore } from './store.js'
import type { RetryScheduler, WebhookSender } from './webhook.js'

const QUEUE_NAME = 'webhooks'

export class WebhookQueue implements RetryScheduler {
  readonly #queue: Queue
  readonly #worker: Worker<{ jobId: string, attempt: number }>

  /** `blocking`: a connection that may wait out an outage (the fleet queue's worker connection) */
  constructor (redis: RedisConnection, blocking: Redis, sender: WebhookSender, store: JobStore) {
    const prefix = `${redis.prefix}bull`
    this.#queue = new Queue(QUEUE_NAME, { connection: redis.client, prefix, streams: { events: { maxLen: 100 } } })
    this.#queue.on('error', () => {})
    this.#worker = new Worker<{ jobId: string, attempt: number }>(QUEUE_NAME, async (job) => {
      // the job as it is now: a delivery must tell its final state, and stop if it expired
      const record = await store.get(job.data.jobId)
      if (record?.webhookUrl !== undefined) await sender.attempt(record, job.data.attempt)
    }, { connection: blocking, prefix, concurrency: 4 })
    this.#worker.on('error', () => {})
  }

  later (record: JobRecord, next: number, delayMs: number): void {
    this.#queue.add('attempt', { jobId: record.id, attempt: next }, {
      // one attempt per id: a retry scheduled twice (a replica restarting) is delivered once
      jobId: `${record.id}-${next}`,
      delay: Math.round(delayMs),
      removeOnComplete: true,
      removeOnFail: true
    }).catch(() => {})
  }

  async close (): Promise<void> {
    await this.#worker.close()
    await this.#queue.close()
  }
}
