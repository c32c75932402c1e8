// Jobs in Redis: one JSON value per job and one binary value for its result, both expiring JOB_TTL_MS after
// the last change, so every replica answers for every job and nothing outlives its lifetime.
import type { RedisConnection } from '../redis/connection.js'
import { defineScript, type Script } from '../redis/script.js'
import type { JobRecord, JobStatus } from './job.js'
import type { JobStore } from './store.js'

// KEYS: the job, its image. ARGV: the patch (JSON), the TTL, then the statuses it may change from (none: any).
// Read, check and write in one step, so that a cancel and a worker, or two workers, cannot both win.
const UPDATE_LUA = `
local text = redis.call('GET', KEYS[1])
if not text then return false end
local job = cjson.decode(text)
if #ARGV > 2 then
  local allowed = false
  for i = 3, #ARGV do if job.status == ARGV[i] then allowed = true end end
  if not allowed then return false end
end
for name, value in pairs(cjson.decode(ARGV[1])) do job[name] = value end
local out = cjson.encode(job)
redis.call('SET', KEYS[1], out, 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return out
`

export class RedisJobStore implements JobStore {
  readonly #redis: RedisConnection
  readonly #ttlMs: number
  readonly #update: Script

  constructor (redis: RedisConnection, ttlMs: number) {
    this.#redis = redis
    this.#ttlMs = ttlMs
    this.#update = defineScript(redis.client, 'stylizeJobUpdate', 2, UPDATE_LUA)
  }

  async create (record: JobRecord): Promise<void> {
    await this.#redis.client.set(this.#key(record.id), JSON.stringify(record), 'PX', this.#ttlMs)
  }

  async get (id: string): Promise<JobRecord | undefined> {
    const text = await this.#redis.client.get(this.#key(id))
    return text === null ? undefined : JSON.parse(text) as JobRecord
  }

  async update (id: string, patch: Partial<JobRecord>, from?: readonly JobStatus[]): Promise<JobRecord | undefined> {
    const text = await this.#update([this.#key(id), this.#imageKey(id)], [JSON.stringify(patch), this.#ttlMs, ...(from ?? [])])
    return typeof text === 'string' ? JSON.parse(text) as JobRecord : undefined
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
