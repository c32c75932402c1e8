// The retry policy, pure: which failed attempts are worth another, how long to wait, and what a
// failure says about the upstream's health (for the circuit breaker).
import type { UpstreamCallError } from './response.js'
import { isContentRefusal, isThrottling } from './outcome.js'

export type RetryReason = 'throttled' | 'server_error' | 'connect' | 'output_moderation'

export type RetryDecision =
  | { retry: false }
  | { retry: true, reason: RetryReason, /** send a new random seed (50511) */ reseed: boolean }

export interface RetryState {
  /** retries already made for throttling, 5xx and connects */
  retries: number
  /** UPSTREAM_RETRIES */
  maxRetries: number
  /** the request's effective seed; -1 or absent lets a 50511 be retried with another */
  seed: unknown
  /** whether the one 50511 retry was spent */
  reseeded: boolean
}

/** Upstream internal errors (HTTP 500 with the business shape). */
const SERVER_ERROR_CODES = new Set(['50500', '50501'])

function isServerError (error: UpstreamCallError): boolean {
  if (error.kind === 'business') return SERVER_ERROR_CODES.has(error.upstreamCode) || (error.httpStatus ?? 0) >= 500
  return error.kind === 'http' && (error.httpStatus ?? 0) >= 500
}

/** The upstream's own 5xx answer: the business shape says the service itself failed, and answered. */
function isUpstreamServerError (error: UpstreamCallError): boolean {
  return error.kind === 'business' && isServerError(error)
}

export function retryDecision (error: UpstreamCallError, state: RetryState): RetryDecision {
  if (error.kind === 'business' && error.upstreamCode === '50511') {
    const randomSeed = state.seed === undefined || state.seed === -1
    return randomSeed && !state.reseeded ? { retry: true, reason: 'output_moderation', reseed: true } : { retry: false }
  }
  if (state.retries >= state.maxRetries) return { retry: false }
  if (isThrottling(error)) return { retry: true, reason: 'throttled', reseed: false }
  if (isUpstreamServerError(error)) return { retry: true, reason: 'server_error', reseed: false }
  // Only a connection that never carried the request is repeated: a reset or a timeout after the body
  // was sent, or a bare 5xx from a gateway in front (which may have forwarded it), may have been billed.
  if (error.kind === 'connect' && !error.bodySent) return { retry: true, reason: 'connect', reseed: false }
  return { retry: false }
}

/** Exponential backoff with full jitter (AWS's "full jitter"): anywhere from 0 to base * 2^n, capped. */
export function backoffMs (retry: number, random: () => number = Math.random, baseMs = 250, capMs = 8000): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** retry))
}

export type HealthVerdict = 'failure' | 'healthy' | 'neutral'

/**
 * What an attempt says about the upstream: failures that no retry will fix (gateway and signing
 * errors, 5xx, timeouts, broken connections, garbage) count; throttling says nothing either way;
 * an answer on the merits (a content refusal, a validation error) shows it works.
 */
export function healthVerdict (error: UpstreamCallError): HealthVerdict {
  if (isThrottling(error)) return 'neutral'
  if (error.kind === 'aborted' || error.kind === 'config') return 'neutral'
  if (isContentRefusal(error)) return 'healthy'
  if (error.kind === 'business' && !isServerError(error)) return 'healthy'
  return 'failure'
}

/** A new seed for a 50511 retry, in the range the API accepts. */
export function randomSeed (random: () => number = Math.random): number {
  return Math.floor(random() * 2 ** 31)
}
