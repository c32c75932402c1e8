// Where upstream call slots come from: this process's memory (memory-slots.ts); the fleet queue needs none.
// The concurrency gate (this replica's FIFO queue) takes slots from one of these.

export interface SlotLease {
  /** gives the slot back; safe to call twice */
  release: () => Promise<void>
}

export interface SlotSource {
  /** a slot now, or undefined when all `limit` slots are taken */
  tryAcquire: () => Promise<SlotLease | undefined>
  /** called with a callback run whenever a slot may have come free (locally or, for Redis, anywhere) */
  onMaybeFree: (listener: () => void) => void
  close: () => Promise<void>
}
