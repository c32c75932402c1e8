// Named parameter sets. The request sent upstream is a preset's values overridden by the client's.
import { readFile } from 'node:fs/promises'
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { GenerationParamsSchema, type GenerationParams } from './schema.js'

export const REQ_KEY = 'img2img_pastel_boys_style_usage'

export const SEED_PROMPT = 'good looking,(((pure white statue))),(((only white color in picture))), (((white plaster figure))), ' +
  '(Renaissance), ancient Greek mythological statue, monochromatic realism style, rococo, (((plaster texture))), ' +
  '((white hair)), 8k, best quality, masterpiece, depth, face light,'

/** A preset always has a prompt: the upstream requires one. */
export type Preset = GenerationParams & { prompt: string }

export const BUILT_IN_PRESETS: Readonly<Record<string, Preset>> = Object.freeze({
  // The seed document's request example.
  angel: {
    prompt: SEED_PROMPT,
    strength: 0.6,
    seed: -1,
    scale: 8,
    ddim_steps: 20,
    lora_multipers: {},
    clip_skip: 1,
    canny_weight: 0.8,
    i2i_keep_texture: 1,
    long_resolution: 704,
    id_scale: 0
  },
  // The seed document's "suggested" column.
  'angel-soft': {
    prompt: SEED_PROMPT,
    strength: 0.9,
    seed: -1,
    scale: 7,
    ddim_steps: 25,
    lora_multipers: { shanzhagaoSomeSortOf_v1Epoch10: 0.4, Colorwater_v4: 0.2, Moxin_Shukezouma11: 0.2 },
    clip_skip: 2,
    canny_weight: 0.8,
    i2i_keep_texture: 1,
    long_resolution: 704,
    id_scale: 0.5
  }
})

export const DEFAULT_PRESET = 'angel'

const PresetsFile = Type.Object({
  presets: Type.Record(
    Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    Type.Object({ ...GenerationParamsSchema.properties, extends: Type.Optional(Type.String()) }, { additionalProperties: false })
  )
}, { additionalProperties: false })
const checkPresetsFile = TypeCompiler.Compile(PresetsFile)

export class PresetsFileError extends Error {
  override name = 'PresetsFileError'
}

/**
 * Merges a presets file over the built-ins. An entry starts from the preset named by its `extends`,
 * or from the built-in of the same name, or from `angel`, and replaces the fields it gives.
 */
export function mergePresets (fileText: string, source: string): Record<string, Preset> {
  let parsed: unknown
  try {
    parsed = JSON.parse(fileText)
  } catch (error) {
    throw new PresetsFileError(`${source}: not valid JSON (${(error as Error).message})`)
  }
  if (!checkPresetsFile.Check(parsed)) {
    const first = checkPresetsFile.Errors(parsed).First()
    throw new PresetsFileError(`${source}: ${first?.path || '/'} ${first?.message ?? 'is invalid'}`)
  }
  const presets: Record<string, Preset> = { ...BUILT_IN_PRESETS }
  for (const [name, entry] of Object.entries(parsed.presets)) {
    const { extends: baseName, ...fields } = entry
    const base = presets[baseName ?? name] ?? presets[DEFAULT_PRESET]
    if (baseName !== undefined && presets[baseName] === undefined) {
      throw new PresetsFileError(`${source}: preset "${name}" extends unknown preset "${baseName}"`)
    }
    presets[name] = { ...base, ...fields } as Preset
  }
  return presets
}

export async function loadPresets (path: string | undefined): Promise<Record<string, Preset>> {
  if (path === undefined) return { ...BUILT_IN_PRESETS }
  return mergePresets(await readFile(path, 'utf8'), path)
}

/** The upstream body's parameters: the preset, then the client's overrides; req_key is always ours. */
export function upstreamParameters (preset: Preset, overrides: GenerationParams): Preset & { req_key: string } {
  return { ...preset, ...overrides, req_key: REQ_KEY }
}
