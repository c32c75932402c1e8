// Jobs in Redis: one JSON value per job and one binary value for its result, both expiring JOB_TTL_MS after
// the last change, so every replica answers for every job and nothing outlives its lifetime.
import type { RedisConnection } from '../redis/connection.js'
import type { JobRecord } from './job.js'
import type { JobStore } from './store.js'

export class RedisJobStore implements JobStore {
  readonly #redis: RedisConnection
  readonly #ttlMs: number

  constructor (redis: RedisConnection, ttlMs: number) {
    this.#redis = redis
    this.#ttlMs = ttlMs
  }

  async create (record: JobRecord): Promise<void> {
    await this.#redis.client.set(this.#key(record.id), JSON.stringify(record), 'PX', this.#ttlMs)
  }

  async get (id: string): Promise<JobRecord | undefined> {
    const text = await this.#redis.client.get(this.#key(id))
    return text === null ? undefined : JSON.parse(text) as JobRecord
  }

  async update (id: string, patch: Partial<JobRecord>): Promise<JobRecord | undefined> {
    // One writer at a time per job: its worker while it runs, then its webhook delivery.
    const current = await this.get(id)
    if (current === undefined) return undefined
    const next = { ...current, ...patch }
    await this.#redis.client.multi()
      .set(this.#key(id), JSON.stringify(next), 'PX', this.#ttlMs)
      .pexpire(this.#imageKey(id), this.#ttlMs)
      .exec()
    return next
  }

  async setImage (id: string, bytes: Buffer): Promise<void> {
    await this.#redis.client.set(this.#imageKey(id), bytes, 'PX', this.#ttlMs)
  }

  async getImage (id: string): Promise<Buffer | undefined> {
    return await this.#redis.client.getBuffer(this.#imageKey(id)) ?? undefined
  }

  async close (): Promise<void> {}

  #key (id: string): string {
    return `${this.#redis.prefix}job:${id}`
  }

  #imageKey (id: string): string {
    return `${this.#redis.prefix}job:${id}:image`
  }
}
