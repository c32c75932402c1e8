// Where usage counts live: this process's memory (no REDIS_URL), or Redis for the fleet (store-redis.ts).
import { addCounts, type UsageCounts } from './counts.js'
import { addDays, KEPT_DAYS } from './days.js'

export interface UsageRow {
  day: string
  keyId: string
  counts: UsageCounts
}

export interface UsageStore {
  add: (day: string, keyId: string, counts: UsageCounts) => Promise<void>
  /** the rows of these days (of one key, when given), by day then key id; days and keys without counts have no row */
  read: (days: readonly string[], keyId?: string) => Promise<UsageRow[]>
}

export class MemoryUsageStore implements UsageStore {
  /** day -> key id -> counts; days older than KEPT_DAYS are dropped as new days begin */
  readonly #days = new Map<string, Map<string, UsageCounts>>()

  async add (day: string, keyId: string, counts: UsageCounts): Promise<void> {
    let keys = this.#days.get(day)
    if (keys === undefined) {
      keys = new Map()
      this.#days.set(day, keys)
      const oldest = addDays(day, 1 - KEPT_DAYS)
      for (const kept of this.#days.keys()) if (kept < oldest) this.#days.delete(kept)
    }
    keys.set(keyId, addCounts(keys.get(keyId) ?? {}, counts))
  }

  async read (days: readonly string[], keyId?: string): Promise<UsageRow[]> {
    const rows: UsageRow[] = []
    for (const day of days) {
      const keys = [...this.#days.get(day) ?? []].sort(([a], [b]) => a < b ? -1 : 1)
      for (const [id, counts] of keys) {
        if (keyId === undefined || id === keyId) rows.push({ day, keyId: id, counts: { ...counts } })
      }
    }
    return rows
  }
}
