// Checks a CVProcess body the way the business API does, before any image is looked at.
// Stricter than the real service on one point: unknown fields are refused (50200), so a typo in the proxy shows.
import { BusinessError } from './responses.js'

export const REQ_KEY = 'img2img_pastel_boys_style_usage'
export const DEFAULT_LONG_RESOLUTION = 704

export interface LogoInfo {
  addLogo: boolean
  /** 0 bottom-right, 1 bottom-left, 2 top-left, 3 top-right */
  position: number
  /** 0 Chinese, 1 English */
  language: number
  opacity: number
}

export type ImageSource = { kind: 'base64', data: string } | { kind: 'url', url: string }

export interface StylizeRequest {
  image: ImageSource
  longResolution: number
  returnUrl: boolean
  logo: LogoInfo
}

type Check = (value: unknown) => string | undefined

function numberIn (min: number, max: number, { integer = false, minExclusive = false } = {}): Check {
  return (value) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number'
    if (integer && !Number.isInteger(value)) return 'must be an integer'
    if (value > max || value < min || (minExclusive && value === min)) {
      return `must be in ${minExclusive ? '(' : '['}${min}, ${max}]`
    }
    return undefined
  }
}

const isBoolean: Check = (value) => typeof value === 'boolean' ? undefined : 'must be a boolean'

const isWeightMap: Check = (value) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object'
  const bad = Object.entries(value).find(([, weight]) => typeof weight !== 'number' || !Number.isFinite(weight))
  return bad === undefined ? undefined : `weight of "${bad[0]}" must be a number`
}

const isStringList: Check = (value) =>
  Array.isArray(value) && value.every((item) => typeof item === 'string') ? undefined : 'must be a list of strings'

const LOGO_FIELDS: Record<string, Check> = {
  add_logo: isBoolean,
  position: numberIn(0, 3, { integer: true }),
  language: numberIn(0, 1, { integer: true }),
  opacity: numberIn(0, 1)
}

const isLogoInfo: Check = (value) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object'
  for (const [name, field] of Object.entries(value)) {
    const check = LOGO_FIELDS[name]
    if (check === undefined) return `has an unknown field "${name}"`
    const problem = field === null ? undefined : check(field)
    if (problem !== undefined) return `${name} ${problem}`
  }
  return undefined
}

const FIELDS: Record<string, Check> = {
  req_key: (value) => typeof value === 'string' ? undefined : 'must be a string',
  prompt: (value) => typeof value === 'string' ? undefined : 'must be a string',
  binary_data_base64: isStringList,
  image_urls: isStringList,
  strength: numberIn(0, 1, { minExclusive: true }),
  seed: numberIn(-1, 2 ** 53, { integer: true }),
  scale: numberIn(1, 30),
  ddim_steps: numberIn(1, 50, { integer: true }),
  lora_multipers: isWeightMap,
  clip_skip: numberIn(1, 3, { integer: true }),
  canny_weight: numberIn(0, 1),
  i2i_keep_texture: numberIn(0, 1, { integer: true }),
  long_resolution: numberIn(256, 2048, { integer: true }),
  id_scale: numberIn(0, 1),
  return_url: isBoolean,
  logo_info: isLogoInfo
}

function parseJsonObject (body: Buffer): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw new BusinessError(50204, 'the body is not JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BusinessError(50204, 'the body is not a JSON object')
  }
  return parsed as Record<string, unknown>
}

/** The one input image: none is 50206; two sources, or more than one image, is 50200. */
function imageSource (fields: Record<string, unknown>): ImageSource {
  const base64 = (fields.binary_data_base64 ?? []) as string[]
  const urls = (fields.image_urls ?? []) as string[]
  if (base64.length + urls.length === 0) throw new BusinessError(50206, 'binary_data_base64 or image_urls is required')
  if (base64.length > 0 && urls.length > 0) throw new BusinessError(50200, 'send binary_data_base64 or image_urls, not both')
  if (base64.length + urls.length > 1) throw new BusinessError(50200, 'exactly one image is accepted')
  return base64[0] !== undefined ? { kind: 'base64', data: base64[0] } : { kind: 'url', url: urls[0] ?? '' }
}

/** Parses and checks a CVProcess body; throws a BusinessError with the service's code. */
export function validateBody (body: Buffer): StylizeRequest {
  const raw = parseJsonObject(body)
  // null stands for "absent", as the service's JSON decoding treats it.
  const fields = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== null))
  for (const [name, value] of Object.entries(fields)) {
    const check = FIELDS[name]
    if (check === undefined) throw new BusinessError(50200, `unknown field "${name}"`)
    const problem = check(value)
    if (problem !== undefined) throw new BusinessError(50200, `${name} ${problem}`)
  }
  if (fields.req_key === undefined) throw new BusinessError(50201, 'req_key is required')
  if (fields.req_key !== REQ_KEY) throw new BusinessError(50200, `req_key must be ${REQ_KEY}`)
  if (fields.prompt === undefined || fields.prompt === '') throw new BusinessError(50201, 'prompt is required')

  const logo = (fields.logo_info ?? {}) as Record<string, unknown>
  return {
    image: imageSource(fields),
    longResolution: (fields.long_resolution as number | undefined) ?? DEFAULT_LONG_RESOLUTION,
    returnUrl: fields.return_url === true,
    logo: {
      addLogo: logo.add_logo === true,
      position: (logo.position as number | null | undefined) ?? 0,
      language: (logo.language as number | null | undefined) ?? 0,
      opacity: (logo.opacity as number | null | undefined) ?? 0.3
    }
  }
}
