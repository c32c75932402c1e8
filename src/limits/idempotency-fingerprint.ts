// What makes two requests "the same" for an Idempotency-Key: the image (its bytes, or its URL) and the
// effective fields after the preset merge. Not the raw body (a multipart boundary changes on every
// retry; base64 and an upload of the same bytes are the same image), and not Accept (a replay is
// rendered for the replay's own Accept).
import { createHash } from 'node:crypto'

export type FingerprintImage = { kind: 'bytes', bytes: Buffer } | { kind: 'url', url: string }

/** JSON with object keys sorted at every level, so field order does not matter. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

function sha256 (data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

export function requestFingerprint (image: FingerprintImage, fields: Record<string, unknown>): string {
  const source = image.kind === 'bytes' ? `bytes:${sha256(image.bytes)}` : `url:${image.url}`
  return sha256(canonicalJson({ image: source, fields }))
}
