// What the upstream path reports as it works; ops/metrics.ts turns it into Prometheus series.
// An interface here, so that nothing in upstream/ depends on the metrics library.
import type { BreakerState } from './breaker.js'
import type { RetryReason } from './retry.js'
import type { UnavailableReason } from './unavailable.js'

export interface UpstreamObserver {
  /** a slot was taken after waiting this long (0 when one was free) */
  queueWait: (seconds: number) => void
  /** the proxy declined to call the upstream */
  refused: (reason: UnavailableReason) => void
  /** one upstream attempt ended: '10000' on success, else the upstream's code or our failure kind */
  attempt: (outcome: string, seconds: number) => void
  retry: (reason: RetryReason) => void
  breakerState: (state: BreakerState) => void
}

export const SILENT_OBSERVER: UpstreamObserver = {
  queueWait: () => {},
  refused: () => {},
  attempt: () => {},
  retry: () => {},
  breakerState: () => {}
}
