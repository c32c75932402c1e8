// Whether Redis answers right now. Every shared store reads it to choose Redis or this replica's memory.
import type { BaseLogger } from 'pino'

export type RedisStateLogger = Pick<BaseLogger, 'info' | 'warn'>

export class RedisState {
  #up = false
  #transitions = 0
  #reason: string | undefined = 'not connected yet'
  #everUp = false
  readonly #listeners: Array<(up: boolean) => void> = []
  readonly #log: RedisStateLogger

  constructor (log: RedisStateLogger) {
    this.#log = log
  }

  get up (): boolean {
    return this.#up
  }

  /** why Redis is down (undefined while up) */
  get reason (): string | undefined {
    return this.#reason
  }

  /** how many times Redis went down or came back since start */
  get transitions (): number {
    return this.#transitions
  }

  /** Records the latest finding; logs and tells the listeners only when it changes. */
  set (up: boolean, reason?: string): void {
    if (up === this.#up) return
    this.#up = up
    this.#reason = up ? undefined : reason ?? 'unknown'
    this.#transitions++
    if (up) {
      this.#log.info({ redis: 'up', transitions: this.#transitions }, this.#everUp
        ? 'Redis is back: limits, quotas, idempotency, jobs and the upstream queue are shared again'
        : 'Redis connected: limits, quotas, idempotency, jobs and the upstream queue are shared')
      this.#everUp = true
    } else this.#log.warn({ redis: 'down', reason: this.#reason, transitions: this.#transitions }, 'Redis lost: this replica acts alone from memory until it returns')
    for (const listener of this.#listeners) listener(up)
  }

  onChange (listener: (up: boolean) => void): void {
    this.#listeners.push(listener)
  }
}
