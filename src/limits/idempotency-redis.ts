// Idempotency entries in Redis, shared by every replica. A claim is a short string (`running:<owner>:<fp>`)
// that expires unless its owner renews it; a result is `done:<json>` kept for IDEMPOTENCY_TTL_MS.
import type { RedisConnection } from '../redis/connection.js'
import { defineScript, type Script } from '../redis/script.js'
import type { IdempotencyEntry, IdempotencyStore } from './idempotency-entry.js'

// Returns what is there, or sets the claim and returns nothing.
const CLAIM_LUA = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`

// Acts only while the key still holds this very claim (it may have expired and been taken by another).
const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`
const ABANDON_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

function runningValue (owner: string, fingerprint: string): string {
  return `running:${owner}:${fingerprint}`
}

export function parseEntry (value: string): IdempotencyEntry {
  if (value.startsWith('running:')) {
    const [, owner = '', fingerprint = ''] = value.split(':')
    return { state: 'running', owner, fingerprint }
  }
  return JSON.parse(value.slice('done:'.length)) as IdempotencyEntry
}

export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #redis: RedisConnection
  readonly #claim: Script
  readonly #renew: Script
  readonly #abandon: Script

  constructor (redis: RedisConnection) {
    this.#redis = redis
    this.#claim = defineScript(redis.client, 'stylizeIdempotencyClaim', 1, CLAIM_LUA)
    this.#renew = defineScript(redis.client, 'stylizeIdempotencyRenew', 1, RENEW_LUA)
    this.#abandon = defineScript(redis.client, 'stylizeIdempotencyAbandon', 1, ABANDON_LUA)
  }

  async claim (id: string, fingerprint: string, owner: string, runningTtlMs: number): Promise<IdempotencyEntry | undefined> {
    const current = await this.#claim([this.#key(id)], [runningValue(owner, fingerprint), runningTtlMs]) as string | null
    return current === null ? undefined : parseEntry(current)
  }

  async complete (id: string, entry: IdempotencyEntry & { state: 'done' }, ttlMs: number): Promise<void> {
    await this.#redis.client.set(this.#key(id), `done:${JSON.stringify(entry)}`, 'PX', ttlMs)
  }

  async renew (id: string, owner: string, fingerprint: string, runningTtlMs: number): Promise<void> {
    await this.#renew([this.#key(id)], [runningValue(owner, fingerprint), runningTtlMs])
  }

  async abandon (id: string, owner: string, fingerprint: string): Promise<void> {
    await this.#abandon([this.#key(id)], [runningValue(owner, fingerprint)])
  }

  #key (id: string): string {
    return `${this.#redis.prefix}idem:${id}`
  }
}
