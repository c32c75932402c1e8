// The admin report as CSV (RFC 4180), one row per key and day, for a spreadsheet or a billing script.
import { total, type UsageFigures } from './figures.js'

export const CSV_COLUMNS = [
  'day', 'key_id', 'succeeded', 'failed', 'refused', 'replayed', 'upstream_attempts', 'retries',
  'bytes_in', 'bytes_up', 'spend', 'currency', 'failed_by_code', 'refused_by_code'
] as const

/** Quoted when it must be; a leading = + - @ is defused, so a spreadsheet never runs a cell as a formula. */
function cell (value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value)
  if (/^[=+\-@]/.test(text) && typeof value === 'string') text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** `CODE=n;CODE=n`, in code order */
function byCode (counts: Record<string, number>): string {
  return Object.entries(counts).map(([code, n]) => `${code}=${n}`).join(';')
}

export function usageCsv (rows: ReadonlyArray<{ day: string, keyId: string, figures: UsageFigures }>, currency: string | undefined): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const { day, keyId, figures } of rows) {
    lines.push([
      day, keyId, figures.succeeded, total(figures.failed), total(figures.refused), figures.replayed,
      figures.upstream_attempts, figures.retries, figures.bytes_in, figures.bytes_up,
      figures.spend, figures.spend === undefined ? undefined : currency, byCode(figures.failed), byCode(figures.refused)
    ].map(cell).join(','))
  }
  return `${lines.join('\r\n')}\r\n`
}
