// UTC days as `YYYY-MM-DD` strings: the unit usage is counted and kept in.
const DAY_MS = 86_400_000

/** How long a day's counts are kept (the contract's 400 days). */
export const KEPT_DAYS = 400

/** The day, when `text` is a real `YYYY-MM-DD` date from 2000 to 9999 (2026-02-30 is not); else undefined. */
export function parseDay (text: string): string | undefined {
  if (!/^(?:[2-9]\d{3})-\d{2}-\d{2}$/.test(text)) return undefined
  const time = Date.parse(`${text}T00:00:00Z`)
  return Number.isFinite(time) && new Date(time).toISOString().startsWith(text) ? text : undefined
}

function startOf (day: string): number {
  return Date.parse(`${day}T00:00:00Z`)
}

export function addDays (day: string, days: number): string {
  return new Date(startOf(day) + days * DAY_MS).toISOString().slice(0, 10)
}

/** The day's number since 1970-01-01 (the sorted set of days in Redis scores by it). */
export function dayNumber (day: string): number {
  return startOf(day) / DAY_MS
}

/** How many days from..to holds, both included (0 when from is after to). */
export function dayCount (from: string, to: string): number {
  return Math.max(0, Math.round((startOf(to) - startOf(from)) / DAY_MS) + 1)
}

/** from..to, both included, oldest first. */
export function daysBetween (from: string, to: string): string[] {
  return Array.from({ length: dayCount(from, to) }, (_, i) => addDays(from, i))
}

/** The first day of the day's month. */
export function monthStart (day: string): string {
  return `${day.slice(0, 7)}-01`
}
