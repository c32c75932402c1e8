// Distributions: every figure the benchmarks report is a percentile set or a ratio of two of them.

export interface Distribution {
  count: number
  min: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** Nearest-rank percentile of sorted values (0 for none). */
function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((p / 100) * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number
}

export function distribution (values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b)
  const sum = sorted.reduce((total, value) => total + value, 0)
  return {
    count: sorted.length,
    min: round(sorted[0] ?? 0),
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? 0),
    mean: round(sorted.length === 0 ? 0 : sum / sorted.length)
  }
}

/** Three significant decimals are plenty for milliseconds and ratios. */
export function round (value: number, digits = 3): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

export function ratio (numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : round(numerator / denominator)
}

export function median (values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50)
}

export const MIB = 1024 * 1024
