// What one request, or one job's end, adds to its key's usage of the day: flat counters whose names are
// the same in memory and in Redis (a hash field each), so adding is one HINCRBY per counter.
import type { JobRecord } from '../jobs/job.js'
import type { CompletionFacts } from '../ops/request-context.js'

/** counter name -> amount: `succeeded`, `replayed`, `upstream_attempts`, `retries`, `bytes_in`, `bytes_up`, `failed:<CODE>`, `refused:<CODE>` */
export type UsageCounts = Record<string, number>

/** Adds `from` into `into` (and returns it). */
export function addCounts (into: UsageCounts, from: UsageCounts): UsageCounts {
  for (const [name, amount] of Object.entries(from)) into[name] = (into[name] ?? 0) + amount
  return into
}

/** Each attempt sends the prepared image again: bytes up are what was sent, not what was prepared. */
function attemptCounts (attempts: number, bytesUp: number | undefined): UsageCounts {
  if (attempts === 0) return {}
  return { upstream_attempts: attempts, retries: attempts - 1, ...(bytesUp === undefined ? {} : { bytes_up: bytesUp * attempts }) }
}

/**
 * An ending that did not succeed: "failed" once the upstream was called (it may have been billed) or
 * when the fault was ours; "refused" when it was answered without any upstream call (limits, busy, bad input).
 */
function unsuccessful (code: string, attempts: number): UsageCounts {
  return { [`${attempts > 0 || code === 'INTERNAL_ERROR' ? 'failed' : 'refused'}:${code}`]: 1 }
}

/**
 * A POST /stylize or POST /jobs answer. A job's 202 counts only the bytes it received: what it sent and
 * how it ended are counted when it ends (jobEndCounts), by whichever replica's worker ran it.
 */
export function requestCounts (facts: CompletionFacts, statusCode: number): UsageCounts {
  const counts: UsageCounts = {}
  if (facts.bytesIn !== undefined) counts.bytes_in = facts.bytesIn
  const attempts = facts.upstreamAttempts ?? 0
  if (facts.replayed === true) return addCounts(counts, { replayed: 1 })
  // nobody refused it: its client left while it waited for the upstream
  if (facts.clientLeft === true) return counts
  addCounts(counts, attemptCounts(attempts, facts.bytesUp))
  if (statusCode >= 400) return addCounts(counts, unsuccessful(facts.errorCode ?? 'INTERNAL_ERROR', attempts))
  if (statusCode === 200 && attempts > 0) counts.succeeded = 1
  return counts
}

/** A job that ended succeeded or failed (a cancelled job was never sent: nothing to count). */
export function jobEndCounts (record: JobRecord): UsageCounts | undefined {
  const attempts = record.upstreamAttempts ?? 0
  if (record.status === 'succeeded') return { succeeded: 1, ...attemptCounts(attempts, record.bytesUp) }
  if (record.status === 'failed') return { ...attemptCounts(attempts, record.bytesUp), ...unsuccessful(record.error?.code ?? 'INTERNAL_ERROR', attempts) }
  return undefined
}
