// GET /usage (the caller's own key) and, with ADMIN_TOKEN, GET /admin/usage (every key, per day, JSON or
// CSV). Keys are named by their id only: no key, and no key hash, is ever in an answer.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config-types.js'
import { InvalidRequestError, UnauthorizedError, UpstreamBusyError, withRetryAfter } from '../errors.js'
import { bearerToken, tokenMatches } from '../keys/credentials.js'
import type { ClientKey } from '../keys/store.js'
import { msToUtcMidnight, utcDay, type DailyQuota } from '../limits/quota.js'
import { rateLimitOf } from '../limits/rate-limit.js'
import { prefersOverJson } from '../stylize/accept.js'
import { addCounts, type UsageCounts } from './counts.js'
import { usageCsv } from './csv.js'
import { dayCount, daysBetween, KEPT_DAYS, monthStart, parseDay } from './days.js'
import { figuresOf, type Price, type UsageFigures } from './figures.js'
import { UsageUnavailableError, type UsageLedger } from './ledger.js'
import type { UsageRow } from './store.js'

export interface UsageRoutesOptions {
  config: Config
  ledger: UsageLedger
  quota: DailyQuota
  /** the admin token now (SIGHUP may re-read it); unset at start: the admin routes do not exist */
  adminToken: () => string | undefined
}

/** GET /usage has a bucket of its own, so that a page showing usage never eats the key's stylize limit. */
const USAGE_RATE_LIMIT = { max: 60, timeWindow: 60_000 }
const RETRY_AFTER_S = 5

async function readRows (ledger: UsageLedger, days: readonly string[], keyId?: string): Promise<UsageRow[]> {
  try {
    return await ledger.read(days, keyId)
  } catch (error) {
    if (!(error instanceof UsageUnavailableError)) throw error
    throw withRetryAfter(new UpstreamBusyError('usage is unavailable while the shared store is unreachable, retry later'), RETRY_AFTER_S)
  }
}

function sum (rows: readonly UsageRow[]): UsageCounts {
  return rows.reduce((counts, row) => addCounts(counts, row.counts), {})
}

function priceOf (config: Config): Price | undefined {
  return config.pricePerCall === undefined ? undefined : { perCall: config.pricePerCall, currency: config.priceCurrency }
}

function priceFields (price: Price | undefined): { price_per_call?: number, currency?: string } {
  if (price === undefined) return {}
  return { price_per_call: price.perCall, ...(price.currency === undefined ? {} : { currency: price.currency }) }
}

/** `from` and `to` of the admin report: this month so far by default, at most KEPT_DAYS days. */
function reportRange (query: { from?: string, to?: string }, today: string): { from: string, to: string } {
  const day = (name: 'from' | 'to', fallback: string): string => {
    const text = query[name]
    if (text === undefined) return fallback
    const parsed = typeof text === 'string' ? parseDay(text) : undefined
    if (parsed === undefined) throw new InvalidRequestError(`${name}: must be a UTC day as YYYY-MM-DD`)
    return parsed
  }
  const to = day('to', today)
  const from = day('from', monthStart(to))
  if (from > to) throw new InvalidRequestError('from: must not be after to')
  if (dayCount(from, to) > KEPT_DAYS) throw new InvalidRequestError(`from..to: at most ${KEPT_DAYS} days at once`)
  return { from, to }
}

export async function usageRoutes (app: FastifyInstance, options: UsageRoutesOptions): Promise<void> {
  const { config, ledger } = options
  const price = priceOf(config)

  app.get('/usage', { config: { requiresKey: true, rateLimit: USAGE_RATE_LIMIT } }, async (request) => {
    const key = request.clientKey as ClientKey
    const now = new Date()
    const today = utcDay(now)
    const rows = await readRows(ledger, daysBetween(monthStart(today), today), key.id)
    const quota = await options.quota.remaining(key, now)
    return {
      key_id: key.id,
      day: today,
      today: figuresOf(sum(rows.filter((row) => row.day === today)), price),
      month: figuresOf(sum(rows), price),
      quota: { ...quota, resets_at: new Date(now.getTime() + msToUtcMidnight(now)).toISOString() },
      rate_limit: rateLimitOf(key, config),
      ...priceFields(price)
    }
  })

  if (options.adminToken() === undefined) return
  app.get<{ Querystring: { from?: string, to?: string, key?: string } }>('/admin/usage', async (request: FastifyRequest<{ Querystring: { from?: string, to?: string, key?: string } }>, reply: FastifyReply) => {
    const token = options.adminToken()
    if (token === undefined || !tokenMatches(bearerToken(request.headers.authorization), token)) {
      void reply.header('www-authenticate', 'Bearer realm="admin"')
      throw new UnauthorizedError('a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)')
    }
    const { from, to } = reportRange(request.query, utcDay(new Date()))
    const key: unknown = request.query.key
    // a repeated key= must not quietly widen the report to every key
    if (key !== undefined && typeof key !== 'string') throw new InvalidRequestError('key: give one key id')
    const keyId = key === undefined || key === '' ? undefined : key
    const rows = await readRows(ledger, daysBetween(from, to), keyId)
    if (prefersOverJson(request.headers.accept, (type) => type === 'text/csv')) {
      const ordered = [...rows].sort((a, b) => a.keyId.localeCompare(b.keyId) || a.day.localeCompare(b.day))
      return await reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="usage-${from}-to-${to}.csv"`)
        .send(usageCsv(ordered.map((row) => ({ day: row.day, keyId: row.keyId, figures: figuresOf(row.counts, price) })), price?.currency))
    }
    const byKey = new Map<string, UsageRow[]>()
    for (const row of rows) byKey.set(row.keyId, [...byKey.get(row.keyId) ?? [], row])
    const keys = [...byKey].sort(([a], [b]) => a.localeCompare(b)).map(([id, keyRows]) => ({
      key_id: id,
      total: figuresOf(sum(keyRows), price),
      days: keyRows.sort((a, b) => a.day.localeCompare(b.day)).map((row): { day: string } & UsageFigures => ({ day: row.day, ...figuresOf(row.counts, price) }))
    }))
    return { from, to, ...priceFields(price), total: figuresOf(sum(rows), price), keys }
  })
}
