// The upstream's input limits, and the size an image is scaled to so that it meets them.

/** Orientation-free: the short side at least 600, the long side at least 800, both at most 4096. */
export const UPSTREAM_MIN_SHORT_SIDE = 600
export const UPSTREAM_MIN_LONG_SIDE = 800
export const UPSTREAM_MAX_SIDE = 4096
/** 5 MB read as 5,000,000 bytes to be safe. */
export const UPSTREAM_MAX_BYTES = 5_000_000

export interface Dimensions { width: number, height: number }

/** Whether scaling (keeping the aspect ratio) can bring this shape within the upstream's limits. */
export function canFitUpstream (width: number, height: number): boolean {
  const long = Math.max(width, height)
  const short = Math.min(width, height)
  return short >= 1 && long * UPSTREAM_MIN_SHORT_SIDE <= short * UPSTREAM_MAX_SIDE
}

/**
 * The size to send: the long edge shrunk to `longEdgeTarget` (itself kept within 800..4096) when larger,
 * then enlarged as little as needed to reach the minimums. Undefined when the shape cannot fit.
 */
export function fitUpstream (width: number, height: number, longEdgeTarget: number): Dimensions | undefined {
  if (!canFitUpstream(width, height)) return undefined
  const long = Math.max(width, height)
  const short = Math.min(width, height)
  const target = Math.min(Math.max(longEdgeTarget, UPSTREAM_MIN_LONG_SIDE), UPSTREAM_MAX_SIDE)
  let scale = long > target ? target / long : 1
  scale = Math.max(scale, UPSTREAM_MIN_SHORT_SIDE / short, UPSTREAM_MIN_LONG_SIDE / long)
  scale = Math.min(scale, UPSTREAM_MAX_SIDE / long)
  // Rounding may miss a bound by a pixel; clamping costs at most a pixel of aspect.
  const fittedLong = clamp(Math.round(long * scale), UPSTREAM_MIN_LONG_SIDE, UPSTREAM_MAX_SIDE)
  const fittedShort = clamp(Math.round(short * scale), UPSTREAM_MIN_SHORT_SIDE, fittedLong)
  return width >= height
    ? { width: fittedLong, height: fittedShort }
    : { width: fittedShort, height: fittedLong }
}

function clamp (value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max)
}
