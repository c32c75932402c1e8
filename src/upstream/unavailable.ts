// The proxy itself declined to call the upstream (or to go on calling it): a full or slow queue,
// an open circuit, a shutdown, or a caller that gave up. outcome.ts maps it to the client's 503.

export type UnavailableReason =
  | 'queue_full'
  | 'queue_timeout'
  | 'circuit_open'
  | 'shutting_down'
  | 'cancelled' // the caller's signal aborted while it waited

export class UpstreamUnavailable extends Error {
  readonly reason: UnavailableReason
  /** when a client may usefully try again */
  readonly retryAfterMs: number
  /** attempts already sent before the proxy stopped calling (a retry cut by the circuit or a shutdown) */
  attempts = 0

  constructor (reason: UnavailableReason, retryAfterMs: number) {
    super(`upstream not called: ${reason}`)
    this.name = 'UpstreamUnavailable'
    this.reason = reason
    this.retryAfterMs = retryAfterMs
  }
}
