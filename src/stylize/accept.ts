// Content negotiation: JSON unless the client's Accept header ranks another type above it.

interface MediaRange { type: string, q: number }

function parseAccept (accept: string): MediaRange[] {
  return accept.split(',').map((item) => {
    const [type = '', ...params] = item.trim().toLowerCase().split(';')
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    return { type: type.trim(), q: Number.isFinite(q) ? q : 0 }
  }).filter((range) => range.type !== '')
}

/** True when a media range that `wanted` matches is ranked above application/json. */
export function prefersOverJson (accept: string | undefined, wanted: (type: string) => boolean): boolean {
  if (accept === undefined || accept.trim() === '') return false
  const ranges = parseAccept(accept)
  const best = (match: (type: string) => boolean): number =>
    ranges.filter((range) => match(range.type)).reduce((q, range) => Math.max(q, range.q), 0)
  const other = best(wanted)
  const json = best((type) => type === 'application/json' || type === 'application/*')
  return other > 0 && other > json
}

/** True when the client asks for image bytes: an image/* range ranked above application/json. */
export function wantsImageBytes (accept: string | undefined): boolean {
  return prefersOverJson(accept, (type) => type.startsWith('image/'))
}
