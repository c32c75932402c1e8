// The parsed keys file: client keys found by the sha256 of what a client presents, in constant time.
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import { KeysFileSchema, type KeyEntry, type KeysFile } from './schema.js'
import { TIME_WINDOW_EXPECTED, timeWindowMs } from './time-window.js'

export interface ClientKey {
  id: string
  rateLimit?: { max: number, timeWindow: number | string }
  dailyQuota?: number
  presets: '*' | string[]
  allowPrompt: boolean
  disabled: boolean
}

/** A keys file that cannot be used; the message is one line and never holds a hash or a key. */
export class KeysFileError extends Error {
  readonly code = 'KEYS_FILE_INVALID'
  override readonly name = 'KeysFileError'
}

interface StoredHash {
  digest: Buffer
  /** epoch ms; undefined = never expires */
  expiresAt: number | undefined
  key: ClientKey
}

export class KeyStore {
  readonly #hashes: StoredHash[]
  /** how many key ids (not hashes) the file holds */
  readonly size: number

  constructor (keys: ReadonlyArray<{ key: ClientKey, hashes: Array<{ sha256: string, expiresAt?: number }> }>) {
    this.size = keys.length
    this.#hashes = keys.flatMap(({ key, hashes }) => hashes.map((hash) => ({
      digest: Buffer.from(hash.sha256, 'hex'),
      expiresAt: hash.expiresAt,
      key
    })))
  }

  /**
   * The key whose stored hash matches the presented key, or undefined. Every stored hash is compared, so
   * the time taken does not tell which entry matched. A disabled key IS returned (with `disabled: true`):
   * the caller answers 401 for it, and can still log which key id was refused.
   */
  lookup (presentedKey: string, now: Date = new Date()): ClientKey | undefined {
    const digest = createHash('sha256').update(presentedKey, 'utf8').digest()
    const nowMs = now.getTime()
    let found: ClientKey | undefined
    for (const stored of this.#hashes) {
      const equal = timingSafeEqual(digest, stored.digest)
      const live = stored.expiresAt === undefined || stored.expiresAt > nowMs
      if (equal && live) found = stored.key
    }
    return found
  }
}

const checkKeysFile = TypeCompiler.Compile(KeysFileSchema)

// ISO 8601: a date, or a date-time with a zone (a zoneless time would depend on the server's TZ).
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i

export function parseKeysFile (text: string, source: string): KeyStore {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    // V8's message quotes the text around the fault, which may be a hash: report a position only.
    const position = /position (\d+)/.exec((err as Error).message)?.[1]
    throw new KeysFileError(`${source}: not valid JSON${position === undefined ? '' : ` (${lineAndColumn(text, Number(position))})`}`)
  }
  if (!checkKeysFile.Check(data)) {
    throw new KeysFileError(`${source}: ${describe(checkKeysFile.Errors(data).First(), data)}`)
  }
  return new KeyStore(toKeys(data, source))
}

export async function loadKeysFile (path: string): Promise<KeyStore> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new KeysFileError(`${path}: cannot read the keys file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  return parseKeysFile(text, path)
}

function toKeys (file: KeysFile, source: string): Array<{ key: ClientKey, hashes: Array<{ sha256: string, expiresAt?: number }> }> {
  const ids = new Set<string>()
  const owners = new Map<string, string>()
  return file.keys.map((entry, index) => {
    const where = `keys[${index}] ("${entry.id}")`
    if (ids.has(entry.id)) throw new KeysFileError(`${source}: keys[${index}]: id "${entry.id}" is used twice; ids must be unique`)
    ids.add(entry.id)
    const hashes = hashesOf(entry, `${source}: ${where}`)
    for (const { sha256 } of hashes) {
      const owner = owners.get(sha256)
      if (owner !== undefined) {
        throw new KeysFileError(`${source}: ${where}: a sha256 is listed twice (first under "${owner}"); each key must have its own`)
      }
      owners.set(sha256, entry.id)
    }
    if (entry.rateLimit !== undefined && timeWindowMs(entry.rateLimit.timeWindow) === undefined) {
      throw new KeysFileError(`${source}: ${where}.rateLimit.timeWindow must be ${TIME_WINDOW_EXPECTED}`)
    }
    return { key: toClientKey(entry), hashes }
  })
}

function hashesOf (entry: KeyEntry, where: string): Array<{ sha256: string, expiresAt?: number }> {
  const items = typeof entry.sha256 === 'string' ? [entry.sha256] : entry.sha256
  return items.map((item, index) => {
    if (typeof item === 'string') return { sha256: item.toLowerCase() }
    if (item.expiresAt === undefined) return { sha256: item.sha256.toLowerCase() }
    const expiresAt = Date.parse(item.expiresAt)
    if (!ISO_DATE_TIME.test(item.expiresAt) || !Number.isFinite(expiresAt)) {
      throw new KeysFileError(`${where}.sha256[${index}].expiresAt must be an ISO 8601 date-time with a zone, such as 2025-01-31T00:00:00Z`)
    }
    return { sha256: item.sha256.toLowerCase(), expiresAt }
  })
}

function toClientKey (entry: KeyEntry): ClientKey {
  const key: ClientKey = {
    id: entry.id,
    presets: entry.presets === undefined || entry.presets === '*' ? '*' : Object.freeze([...entry.presets]) as string[],
    allowPrompt: entry.allowPrompt ?? false,
    disabled: entry.disabled ?? false
  }
  if (entry.rateLimit !== undefined) key.rateLimit = Object.freeze({ ...entry.rateLimit })
  if (entry.dailyQuota !== undefined) key.dailyQuota = entry.dailyQuota
  // Shared by every request that presents this key: nobody may change it on the way.
  return Object.freeze(key)
}

/** One line for the first schema error, e.g. `keys[0] ("web-app").allowPrompts is not a known field`. */
function describe (first: ValueError | undefined, data: unknown): string {
  if (first === undefined) return 'does not match the keys file format'
  const { error, expected } = mostSpecific(first, undefined)
  const where = pathName(error.path, data)
  if (error.type === ValueErrorType.ObjectAdditionalProperties) return `${where} is not a known field (expected ${expected})`
  if (error.type === ValueErrorType.ObjectRequiredProperty) return `${where} is missing (expected ${expected})`
  return `${where} must be ${expected}`
}

/** Errors that only say "not this kind of value": the variant of a union that the value is not. */
const KIND_ERRORS = new Set([ValueErrorType.String, ValueErrorType.Array, ValueErrorType.Object])

/**
 * A union reports only "no variant matched". Follow the variant of the value's own kind (a string to the
 * string variant, an object to the object variant) to the error that says what is wrong within it.
 */
function mostSpecific (error: ValueError, fallback: string | undefined): { error: ValueError, expected: string } {
  const expected = typeof error.schema.description === 'string' ? error.schema.description : fallback ?? error.message
  if (error.type !== ValueErrorType.Union) return { error, expected }
  const inner = error.errors
    .map((variant) => variant.First())
    .find((e) => e !== undefined && !(KIND_ERRORS.has(e.type) && e.path === error.path))
  return inner === undefined ? { error, expected } : mostSpecific(inner, expected)
}

/** `/keys/0/rateLimit/max` -> `keys[0] ("web-app").rateLimit.max` (the id helps find the entry). */
function pathName (path: string, data: unknown): string {
  if (path === '') return 'the file'
  let name = ''
  let node: unknown = data
  for (const part of path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    if (Array.isArray(node) && /^\d+$/.test(part)) {
      node = node[Number(part)]
      const id = (node as { id?: unknown } | undefined)?.id
      name += `[${part}]` + (typeof id === 'string' && name === 'keys' ? ` ("${id}")` : '')
    } else {
      node = (node as Record<string, unknown> | undefined)?.[part]
      name += (name === '' ? '' : '.') + part
    }
  }
  return name
}

function lineAndColumn (text: string, position: number): string {
  const before = text.slice(0, position).split('\n')
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`
}
