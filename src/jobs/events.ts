// "Job <id> changed", heard on every replica (Redis pub/sub) or in this process, so that a long poll
// (GET /jobs/<id>?wait=) answers as soon as its job ends, wherever it ran.
import { EventEmitter } from 'node:events'
import type { RedisConnection } from '../redis/connection.js'

export class JobEvents {
  readonly #local = new EventEmitter()
  readonly #redis: RedisConnection | undefined
  readonly #channel: string

  constructor (redis?: RedisConnection) {
    this.#redis = redis
    this.#channel = `${redis?.prefix ?? ''}jobs:changed`
    this.#local.setMaxListeners(0)
    if (redis !== undefined) {
      const subscriber = redis.subscriber()
      subscriber.on('message', (channel: string, id: string) => { if (channel === this.#channel) this.#local.emit(id) })
      subscriber.subscribe(this.#channel).catch(() => {}) // resubscribed by ioredis after a reconnect
    }
  }

  /** Tells every waiter, on every replica; a lost Redis only delays the others until their next look. */
  async changed (id: string): Promise<void> {
    if (this.#redis === undefined) {
      this.#local.emit(id)
      return
    }
    await this.#redis.client.publish(this.#channel, id).catch(() => { this.#local.emit(id) })
  }

  /** Resolves when the job changes, after `ms`, or when `signal` aborts, whichever comes first. */
  async next (id: string, ms: number, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#local.off(id, done)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#local.on(id, done)
      signal?.addEventListener('abort', done, { once: true })
    })
  }
}
