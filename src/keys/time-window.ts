// Rate-limit windows as @fastify/rate-limit takes them: milliseconds, or a string such as "1 minute",
// parsed by the same library the plugin uses (@lukeed/ms), so a value means the same thing in both;
// a typo is refused at load time instead of silently becoming the plugin's default.
import { parse } from '@lukeed/ms'

export const TIME_WINDOW_EXPECTED = 'a positive number of milliseconds or a duration such as "1 minute", "30 seconds", "1 hour"'

/** Milliseconds of a window, or undefined when the value is not a positive window. */
export function timeWindowMs (value: number | string): number | undefined {
  const ms = typeof value === 'number' ? value : parse(value.trim())
  return ms !== undefined && Number.isFinite(ms) && ms >= 1 ? Math.trunc(ms) : undefined
}
