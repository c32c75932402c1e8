// The keys file (API_KEYS_FILE) as the contract gives it. Unknown fields are refused: a typo such as
// "allowPrompts" must not silently leave a key with the defaults. `description` says what is expected,
// and is what a refusal reports.
import { Type, type Static } from '@sinclair/typebox'
import { TIME_WINDOW_EXPECTED } from './time-window.js'

export const KEY_ID_PATTERN = '^[A-Za-z0-9._-]{1,64}$'

const Sha256 = Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'a sha256 as 64 hex characters' })

const ExpiringHash = Type.Object({
  sha256: Sha256,
  expiresAt: Type.Optional(Type.String({ minLength: 1, description: 'an ISO 8601 date-time, such as 2025-01-31T00:00:00Z' }))
}, { additionalProperties: false, description: '{ "sha256": "<hex>", "expiresAt": "<ISO 8601>" } with no other field' })

const Hashes = Type.Union([
  Sha256,
  Type.Array(Type.Union([Sha256, ExpiringHash]), { minItems: 1 })
], { description: 'a sha256 (64 hex characters), or a non-empty list of them or of { "sha256", "expiresAt" }' })

const RateLimit = Type.Object({
  max: Type.Integer({ minimum: 1, description: 'an integer >= 1' }),
  timeWindow: Type.Union([
    Type.Integer({ minimum: 1 }),
    Type.String({ minLength: 1 })
  ], { description: TIME_WINDOW_EXPECTED })
}, { additionalProperties: false, description: '{ "max": <integer>, "timeWindow": <ms or duration> } with no other field' })

export const KeyEntrySchema = Type.Object({
  id: Type.String({ pattern: KEY_ID_PATTERN, description: '1 to 64 of A-Z a-z 0-9 . _ -' }),
  sha256: Hashes,
  rateLimit: Type.Optional(RateLimit),
  dailyQuota: Type.Optional(Type.Integer({ minimum: 0, description: 'an integer >= 0' })),
  presets: Type.Optional(Type.Union([
    Type.Literal('*'),
    Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true })
  ], { description: '"*" or a non-empty list of distinct preset names (use "disabled": true to turn a key off)' })),
  allowPrompt: Type.Optional(Type.Boolean({ description: 'true or false' })),
  disabled: Type.Optional(Type.Boolean({ description: 'true or false' }))
}, { additionalProperties: false, description: 'a key entry: "id" and "sha256" required; rateLimit, dailyQuota, presets, allowPrompt, disabled optional' })

export const KeysFileSchema = Type.Object({
  keys: Type.Array(KeyEntrySchema, { description: 'a list of key entries' })
}, { additionalProperties: false, description: '{ "keys": [ ... ] } with no other field' })

export type KeyEntry = Static<typeof KeyEntrySchema>
export type KeysFile = Static<typeof KeysFileSchema>
