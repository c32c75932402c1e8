// The retry policy, directly: what is retried, how often, how long to wait, what counts against the upstream.
import { test } from 'tap'
import { UpstreamCallError, type UpstreamFailureKind } from '../../src/upstream/response.js'
import { backoffMs, healthVerdict, randomSeed, retryDecision, type RetryState } from '../../src/upstream/retry.js'

function failure (kind: UpstreamFailureKind, code: string, httpStatus?: number, bodySent = true): UpstreamCallError {
  return new UpstreamCallError({ kind, code, httpStatus, bodySent })
}

const fresh: RetryState = { retries: 0, maxRetries: 2, seed: -1, reseeded: false }

test('throttling, the upstream\'s own 5xx and connections that never opened are retried while retries remain', async (t) => {
  t.match(retryDecision(failure('business', '50429', 429), fresh), { retry: true, reason: 'throttled', reseed: false })
  t.match(retryDecision(failure('business', '50430', 429), fresh), { retry: true, reason: 'throttled' })
  t.match(retryDecision(failure('http', 'http_429', 429), fresh), { retry: true, reason: 'throttled' })
  t.match(retryDecision(failure('business', '50500', 500), fresh), { retry: true, reason: 'server_error' })
  t.match(retryDecision(failure('business', '50501', 500), fresh), { retry: true, reason: 'server_error' })
  t.match(retryDecision(failure('connect', 'ECONNREFUSED', undefined, false), fresh), { retry: true, reason: 'connect' })
  const spent = { ...fresh, retries: 2 }
  t.same(retryDecision(failure('business', '50429', 429), spent), { retry: false })
  t.same(retryDecision(failure('connect', 'ECONNREFUSED', undefined, false), spent), { retry: false })
})

test('nothing else is retried: resets and timeouts after the body left, bare gateway 5xx, moderation, validation, garbage, our own aborts', async (t) => {
  for (const error of [
    failure('timeout', 'timeout'),
    failure('connect', 'ECONNRESET'),
    failure('connect', 'UND_ERR_SOCKET'),
    failure('http', 'http_502', 502),
    failure('http', 'http_503', 503),
    failure('http', 'http_504', 504),
    failure('business', '50411', 400),
    failure('business', '50412', 400),
    failure('business', '50518', 400),
    failure('business', '50207', 400),
    failure('business', '50200', 400),
    failure('gateway', 'SignatureDoesNotMatch', 401),
    failure('gateway', 'InternalError', 500),
    failure('malformed', 'http_200', 200),
    failure('http', 'http_404', 404),
    failure('aborted', 'aborted'),
    failure('config', 'NoCredentials', undefined, false)
  ]) {
    t.same(retryDecision(error, fresh), { retry: false }, `${error.kind} ${error.upstreamCode}`)
  }
})

test('50511 is retried once with a new seed, only when the seed was random', async (t) => {
  const moderation = failure('business', '50511', 400)
  t.match(retryDecision(moderation, fresh), { retry: true, reason: 'output_moderation', reseed: true })
  t.match(retryDecision(moderation, { ...fresh, seed: undefined }), { retry: true, reseed: true })
  t.match(retryDecision(moderation, { ...fresh, retries: 2 }), { retry: true, reseed: true }, 'not bounded by UPSTREAM_RETRIES')
  t.same(retryDecision(moderation, { ...fresh, reseeded: true }), { retry: false }, 'once only')
  t.same(retryDecision(moderation, { ...fresh, seed: 42 }), { retry: false }, 'a chosen seed is kept')
  const seed = randomSeed()
  t.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31)
})

test('backoff: full jitter under an exponential, capped ceiling', async (t) => {
  t.equal(backoffMs(0, () => 0), 0)
  t.equal(backoffMs(0, () => 0.999999), 249)
  t.equal(backoffMs(1, () => 0.5), 250)
  t.equal(backoffMs(3, () => 0.5), 1000)
  t.equal(backoffMs(20, () => 0.999999), 7999, 'capped')
  const draws = Array.from({ length: 200 }, () => backoffMs(2))
  t.ok(draws.every((ms) => ms >= 0 && ms < 1000))
  t.ok(new Set(draws).size > 50, 'spread, not fixed')
})

test('health: failures that retries do not fix count, throttling does not, answers on the merits are healthy', async (t) => {
  t.equal(healthVerdict(failure('gateway', 'InvalidAccessKey', 401)), 'failure')
  t.equal(healthVerdict(failure('business', '50500', 500)), 'failure')
  t.equal(healthVerdict(failure('http', 'http_502', 502)), 'failure')
  t.equal(healthVerdict(failure('timeout', 'timeout')), 'failure')
  t.equal(healthVerdict(failure('connect', 'ECONNREFUSED', undefined, false)), 'failure')
  t.equal(healthVerdict(failure('malformed', 'http_200', 200)), 'failure')
  t.equal(healthVerdict(failure('business', '50429', 429)), 'neutral')
  t.equal(healthVerdict(failure('business', '50430', 429)), 'neutral')
  t.equal(healthVerdict(failure('aborted', 'aborted')), 'neutral')
  t.equal(healthVerdict(failure('config', 'NoCredentials', undefined, false)), 'neutral')
  t.equal(healthVerdict(failure('business', '50411', 400)), 'healthy')
  t.equal(healthVerdict(failure('business', '50207', 400)), 'healthy')
})
