// UTC days as `YYYY-MM-DD` strings: the unit usage is counted and kept in.
const DAY_MS = 86_400_000

/** How long a day's counts are kept (the contract's 400 days). */
export const KEPT_DAYS = 400

/** The day, when `text` is a real `YYYY-MM-DD` date (2026-02-30 is not); else undefined. */
export function parseDay (text: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined
  const time = Date.parse(`${text}T00:00:00Z`)
  return Number.isFinite(time) && new Date(time).toISOString().startsWith(text) ? text : undefined
}

export function addDays (day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10)
}

/** from..to, both included, oldest first. */
export function daysBetween (from: string, to: string): string[] {
  const days: string[] = []
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day)
  return days
}

/** The first day of the day's month. */
export function monthStart (day: string): string {
  return `${day.slice(0, 7)}-01`
}
