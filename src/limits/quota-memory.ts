// Daily quota counters in this replica's memory (no REDIS_URL, or Redis lost).
export class MemoryQuotaCounter {
  /** day (YYYY-MM-DD) -> key id -> reserved calls; only the two newest days are kept */
  readonly #days = new Map<string, Map<string, number>>()

  /** Counts one more call for `id` on `day` unless that would pass `limit`; false when it would. */
  reserve (day: string, id: string, limit: number): boolean {
    const counts = this.#counts(day)
    const used = counts.get(id) ?? 0
    if (used >= limit) return false
    counts.set(id, used + 1)
    return true
  }

  release (day: string, id: string): void {
    const counts = this.#days.get(day)
    const used = counts?.get(id) ?? 0
    if (used > 1) counts?.set(id, used - 1)
    else counts?.delete(id)
  }

  used (day: string, id: string): number {
    return this.#days.get(day)?.get(id) ?? 0
  }

  #counts (day: string): Map<string, number> {
    let counts = this.#days.get(day)
    if (counts === undefined) {
      counts = new Map()
      this.#days.set(day, counts)
      // Yesterday stays for the calls still running across midnight, which release against it.
      const keep = [...this.#days.keys()].sort().slice(-2)
      for (const old of this.#days.keys()) if (!keep.includes(old)) this.#days.delete(old)
    }
    return counts
  }
}
