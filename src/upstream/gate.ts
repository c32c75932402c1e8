// The concurrency gate: this replica's FIFO queue in front of its UPSTREAM_CONCURRENCY slots (alone, or while
// Redis is lost; with Redis the fleet queue, fleet-queue.ts, bounds the calls).
// Bounded in length and in wait; a waiter whose caller gives up leaves at once and never calls.
import type { UpstreamObserver } from './observer.js'
import { ServiceTime } from './service-time.js'
import type { SlotLease, SlotSource } from './slots.js'
import { UpstreamUnavailable } from './unavailable.js'

export interface GateOptions {
  source: SlotSource
  /** the source's slot count (fleet-wide with Redis), for the wait estimate only */
  concurrency: number
  queueMax: number
  queueTimeoutMs: number
  /** what one call is assumed to take until calls are measured */
  initialServiceMs?: number
  observer?: Pick<UpstreamObserver, 'queueWait' | 'refused'>
}

/** A place in line held for an admitted request until its call reaches the gate (or the request ends). */
export interface Reservation extends Disposable {
  /** what counts it: a gate honours only its own (a fleet queue's, after Redis was lost, is not one) */
  readonly owner: object
  /** still counted: not yet taken by its call nor given back */
  readonly held: boolean
  /** gives the place back (safe to call more than once) */
  release: () => void
}

/** A reservation of `owner`'s that runs `giveBack` once, on release or disposal, whichever comes first. */
export function placeHeld (owner: object, giveBack: () => void): Reservation {
  let held = true
  const release = (): void => {
    if (!held) return
    held = false
    giveBack()
  }
  return { owner, get held () { return held }, release, [Symbol.dispose]: release }
}

export interface AcquireOptions {
  /** the place this request was given at admission: handed over once it holds a slot or waits in line */
  reservation?: Reservation | undefined
  /** aborting it takes the waiter out of the queue */
  signal?: AbortSignal | undefined
  /** a retry of an admitted request: it queues again, but a full queue does not refuse it */
  admitted?: boolean
  /** names the waiter, so that its place in the queue can be asked (a job's position) */
  id?: string | undefined
}

interface Waiter {
  id: string | undefined
  grant: (lease: SlotLease) => void
  fail: (error: Error) => void
}

export class ConcurrencyGate {
  readonly #options: GateOptions
  readonly #queue: Waiter[] = []
  #held = 0
  /** requests admitted (reserve()) whose call has not reached the gate yet: reading and preparing a photo */
  #reserved = 0
  readonly #serviceTime: ServiceTime
  #pumping = false
  #pumpAgain = false
  #closed = false

  constructor (options: GateOptions) {
    this.#options = options
    this.#serviceTime = new ServiceTime(options.initialServiceMs ?? 5000)
    options.source.onMaybeFree(() => { void this.#pump() })
  }

  /** requests waiting for a slot */
  get depth (): number {
    return this.#queue.length
  }

  /** slots this replica holds now */
  get held (): number {
    return this.#held
  }

  /** A newcomer would be refused at once: the line is as long as it may be. */
  get full (): boolean {
    return this.#options.queueMax > 0 && this.#queue.length >= this.#options.queueMax
  }

  /**
   * A place for a request admitted now, or undefined when the free slots and the room in line are all
   * taken or promised. Requests that arrive together are admitted before any of them queues (each first
   * reads and prepares its photo): without a place held from admission on, all of a burst would pass and
   * most be refused only after their image work.
   */
  reserve (): Reservation | undefined {
    if (this.#closed) return undefined
    const free = Math.max(0, this.#options.concurrency - this.#held)
    if (this.#reserved + this.#queue.length >= this.#options.queueMax + free) return undefined
    this.#reserved++
    return placeHeld(this, () => { this.#reserved-- })
  }

  /** a recent call's duration (moving average), for Retry-After estimates */
  get serviceMs (): number {
    return this.#serviceTime.ms
  }

  /** The 1-based place of the waiter named `id`, or undefined when it is not waiting. */
  position (id: string): number | undefined {
    const index = this.#queue.findIndex((waiter) => waiter.id === id)
    return index < 0 ? undefined : index + 1
  }

  /** How long until a newcomer behind `ahead` waiting requests would likely get a slot. */
  estimateWaitMs (ahead = this.#queue.length): number {
    return this.#serviceTime.estimateWaitMs(ahead, this.#options.concurrency)
  }

  /** A slot, after waiting in line if need be; throws UpstreamUnavailable when it cannot have one. */
  async acquire (options: AcquireOptions = {}): Promise<SlotLease> {
    try {
      return await this.#acquire(options)
    } finally {
      options.reservation?.release()
    }
  }

  async #acquire (options: AcquireOptions): Promise<SlotLease> {
    const { signal } = options
    this.#throwIfStopped(signal)
    const startedAt = performance.now()
    if (this.#queue.length === 0) {
      const lease = await this.#tryAcquire()
      if (lease !== undefined) {
        // the gate may have closed, or the caller left, while the source answered
        try {
          this.#throwIfStopped(signal)
        } catch (error) {
          await lease.release()
          throw error
        }
        options.reservation?.release()
        return this.#granted(lease, startedAt)
      }
      this.#throwIfStopped(signal)
    }
    // a request holding this gate's reservation was promised its place (so the line may pass queueMax by
    // the slots that calls without one, jobs or Idempotency-Key requests, took meanwhile); others find
    // the line as it is
    const promised = options.reservation?.owner === this && options.reservation.held
    if (options.admitted !== true && !promised && this.#queue.length >= this.#options.queueMax) {
      throw this.#refuse('queue_full', this.estimateWaitMs())
    }
    return await new Promise<SlotLease>((resolve, reject) => {
      const leave = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        const index = this.#queue.indexOf(waiter)
        if (index >= 0) this.#queue.splice(index, 1)
      }
      const onAbort = (): void => {
        leave()
        reject(this.#refuse('cancelled', 0))
      }
      const timer = setTimeout(() => {
        leave()
        reject(this.#refuse('queue_timeout', this.estimateWaitMs()))
      }, this.#options.queueTimeoutMs)
      const waiter: Waiter = {
        id: options.id,
        grant: (lease) => {
          leave()
          resolve(this.#granted(lease, startedAt))
        },
        fail: (error) => {
          leave()
          reject(error)
        }
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#queue.push(waiter)
      // in line now: the place reserved at admission is this one
      options.reservation?.release()
      void this.#pump()
    })
  }

  /** Refuses every waiter and every later request (shutdown); slots already held run to their end. */
  close (): void {
    this.#closed = true
    for (const waiter of [...this.#queue]) waiter.fail(this.#refuse('shutting_down', 1000))
  }

  #throwIfStopped (signal: AbortSignal | undefined): void {
    if (this.#closed) throw this.#refuse('shutting_down', 1000)
    if (signal?.aborted === true) throw this.#refuse('cancelled', 0)
  }

  #refuse (reason: UpstreamUnavailable['reason'], retryAfterMs: number): UpstreamUnavailable {
    this.#options.observer?.refused(reason)
    return new UpstreamUnavailable(reason, retryAfterMs)
  }

  async #tryAcquire (): Promise<SlotLease | undefined> {
    return await this.#options.source.tryAcquire()
  }

  #granted (lease: SlotLease, startedAt: number): SlotLease {
    const grantedAt = performance.now()
    this.#options.observer?.queueWait((grantedAt - startedAt) / 1000)
    this.#held++
    let released = false
    return {
      release: async () => {
        if (released) return
        released = true
        this.#held--
        this.#serviceTime.record(performance.now() - grantedAt)
        await lease.release()
      }
    }
  }

  /** Hands free slots to the head of the queue, one at a time, until none is free. */
  async #pump (): Promise<void> {
    if (this.#pumping) {
      this.#pumpAgain = true
      return
    }
    this.#pumping = true
    try {
      do {
        this.#pumpAgain = false
        while (this.#queue.length > 0 && !this.#closed) {
          const lease = await this.#tryAcquire()
          if (lease === undefined) break
          const waiter = this.#queue[0]
          // the waiter left (timeout, abort) while the source was answering
          if (waiter === undefined) {
            await lease.release()
            break
          }
          waiter.grant(lease)
        }
      } while (this.#pumpAgain && this.#queue.length > 0 && !this.#closed)
    } finally {
      this.#pumping = false
    }
  }
}
