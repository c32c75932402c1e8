// How long an upstream result link (`return_url: true`) stays valid: Volcengine's object-store links carry
// their signing time and lifetime in the query (`X-Tos-Date`, `X-Tos-Expires`; S3-style `X-Amz-*` too).
// A link that says nothing is taken to live 24 hours, as on Volcengine's sibling APIs.
import { parseXDate } from './sign.js'

const ASSUMED_LIFETIME_MS = 86_400_000

/** The instant (epoch ms) the link stops working. */
export function linkExpiresAt (url: string, now = Date.now()): number {
  let query: URLSearchParams
  try {
    query = new URL(url).searchParams
  } catch {
    return now + ASSUMED_LIFETIME_MS
  }
  for (const prefix of ['X-Tos', 'X-Amz']) {
    const signedAt = parseXDate(query.get(`${prefix}-Date`) ?? '')
    const seconds = Number(query.get(`${prefix}-Expires`) ?? Number.NaN)
    if (signedAt !== undefined && Number.isFinite(seconds) && seconds >= 0) return signedAt + seconds * 1000
  }
  return now + ASSUMED_LIFETIME_MS
}
