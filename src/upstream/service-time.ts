// How long one upstream call takes (a moving average of measured calls), and so how long a newcomer waits.

const MAX_RETRY_AFTER_MS = 300_000
const WEIGHT = 0.2

export class ServiceTime {
  #ms: number
  #measured = false

  /** `initialMs`: what one call is assumed to take until calls are measured */
  constructor (initialMs: number) {
    this.#ms = initialMs
  }

  get ms (): number {
    return this.#ms
  }

  record (ms: number): void {
    this.#ms = this.#measured ? this.#ms + WEIGHT * (ms - this.#ms) : ms
    this.#measured = true
  }

  /** How long until a request behind `ahead` waiting ones gets one of `concurrency` slots. */
  estimateWaitMs (ahead: number, concurrency: number): number {
    const rounds = Math.ceil((ahead + 1) / Math.max(1, concurrency))
    return Math.min(MAX_RETRY_AFTER_MS, rounds * this.#ms)
  }
}
