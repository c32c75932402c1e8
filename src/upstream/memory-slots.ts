// UPSTREAM_CONCURRENCY slots held in this process's memory (one replica, or Redis unavailable).
import type { SlotLease, SlotSource } from './slots.js'

export class MemorySlotSource implements SlotSource {
  readonly #limit: number
  readonly #listeners: Array<() => void> = []
  #inUse = 0

  constructor (limit: number) {
    this.#limit = limit
  }

  get inUse (): number {
    return this.#inUse
  }

  async tryAcquire (): Promise<SlotLease | undefined> {
    if (this.#inUse >= this.#limit) return undefined
    this.#inUse++
    let released = false
    return {
      release: async () => {
        if (released) return
        released = true
        this.#inUse--
        for (const listener of this.#listeners) listener()
      }
    }
  }

  onMaybeFree (listener: () => void): void {
    this.#listeners.push(listener)
  }

  async close (): Promise<void> {
    this.#listeners.length = 0
  }
}
