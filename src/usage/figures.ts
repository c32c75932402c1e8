// The contract's figures of one period (a day, a month, a key's total), read off its counters.
import type { UsageCounts } from './counts.js'

export interface UsageFigures {
  succeeded: number
  failed: Record<string, number>
  refused: Record<string, number>
  /** answered again from a kept result (Idempotency-Key): not paid */
  replayed: number
  upstream_attempts: number
  retries: number
  bytes_in: number
  bytes_up: number
  /** succeeded x PRICE_PER_CALL, when a price is set */
  spend?: number
}

/** PRICE_PER_CALL and PRICE_CURRENCY; undefined when no price is set. */
export interface Price {
  perCall: number
  currency: string | undefined
}

/** succeeded x price, without binary fractions showing (3 x 0.1 is 0.3, not 0.30000000000000004) */
export function spendOf (succeeded: number, price: Price): number {
  return Number((succeeded * price.perCall).toFixed(10))
}

export function figuresOf (counts: UsageCounts, price: Price | undefined): UsageFigures {
  const figures: UsageFigures = {
    succeeded: counts.succeeded ?? 0,
    failed: {},
    refused: {},
    replayed: counts.replayed ?? 0,
    upstream_attempts: counts.upstream_attempts ?? 0,
    retries: counts.retries ?? 0,
    bytes_in: counts.bytes_in ?? 0,
    bytes_up: counts.bytes_up ?? 0
  }
  for (const [name, amount] of Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))) {
    const [kind, code] = name.split(':')
    if (code !== undefined && amount !== 0 && (kind === 'failed' || kind === 'refused')) figures[kind][code] = amount
  }
  if (price !== undefined) figures.spend = spendOf(figures.succeeded, price)
  return figures
}

/** Every failed (or refused) answer, whatever its code. */
export function total (byCode: Record<string, number>): number {
  return Object.values(byCode).reduce((sum, n) => sum + n, 0)
}
