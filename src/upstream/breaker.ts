// The circuit breaker: after `threshold` consecutive failed attempts it opens for `cooldownMs`
// (callers are refused at once, nobody pays), then lets exactly one probe through; success closes it.
import type { HealthVerdict } from './retry.js'

export type BreakerState = 'closed' | 'open' | 'half_open'

export interface BreakerOptions {
  threshold: number
  cooldownMs: number
  onTransition?: (from: BreakerState, to: BreakerState, consecutiveFailures: number) => void
  now?: () => number
}

/** One admitted attempt; give it back through record() whatever happens. */
export interface BreakerTicket {
  readonly probe: boolean
  settled: boolean
}

export class CircuitBreaker {
  readonly #options: BreakerOptions
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt = 0
  #probing = false

  constructor (options: BreakerOptions) {
    this.#options = options
  }

  get state (): BreakerState {
    if (this.#state === 'open' && this.#cooledDown()) this.#moveTo('half_open')
    return this.#state
  }

  /** How long until the circuit lets a probe through; undefined when it is not open. */
  retryAfterMs (): number | undefined {
    if (this.state !== 'open') return undefined
    return Math.max(0, this.#openedAt + this.#options.cooldownMs - this.#now())
  }

  /** A ticket for one attempt, or undefined when the circuit refuses (open, or a probe already out). */
  admit (): BreakerTicket | undefined {
    switch (this.state) {
      case 'closed':
        return { probe: false, settled: false }
      case 'open':
        return undefined
      case 'half_open':
        if (this.#probing) return undefined
        this.#probing = true
        return { probe: true, settled: false }
    }
  }

  /** Whether a ticket issued earlier may still call: one taken while closed may not once it opened. */
  allows (ticket: BreakerTicket): boolean {
    return ticket.probe || this.state === 'closed'
  }

  record (ticket: BreakerTicket, verdict: HealthVerdict | 'success'): void {
    if (ticket.settled) return
    ticket.settled = true
    if (ticket.probe) this.#probing = false
    if (verdict === 'neutral') return
    if (verdict === 'success' || verdict === 'healthy') {
      this.#failures = 0
      // any answer on the merits shows the upstream works, the probe's or a late one's
      this.#moveTo('closed')
      return
    }
    this.#failures++
    if (ticket.probe || (this.#state === 'closed' && this.#failures >= this.#options.threshold)) {
      this.#openedAt = this.#now()
      this.#moveTo('open')
    }
  }

  #cooledDown (): boolean {
    return this.#now() - this.#openedAt >= this.#options.cooldownMs
  }

  #moveTo (next: BreakerState): void {
    const previous = this.#state
    if (previous === next) return
    this.#state = next
    this.#options.onTransition?.(previous, next, this.#failures)
  }

  #now (): number {
    return this.#options.now?.() ?? Date.now()
  }
}
