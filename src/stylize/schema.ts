// The client-facing fields of POST /stylize, named as the upstream names them, with the contract's ranges.
import { Type, type Static } from '@sinclair/typebox'

export const LogoInfoSchema = Type.Object({
  add_logo: Type.Optional(Type.Boolean()),
  position: Type.Optional(Type.Integer({ minimum: 0, maximum: 3, description: '0 bottom-right, 1 bottom-left, 2 top-left, 3 top-right' })),
  language: Type.Optional(Type.Integer({ minimum: 0, maximum: 1, description: '0 Chinese, 1 English' })),
  opacity: Type.Optional(Type.Number({ minimum: 0, maximum: 1 }))
}, { additionalProperties: false })

/** The generation parameters a preset holds and a client may override. */
export const GenerationParamsSchema = Type.Object({
  prompt: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  strength: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  seed: Type.Optional(Type.Integer({ minimum: -1, maximum: 4294967295 })),
  scale: Type.Optional(Type.Number({ minimum: 1, maximum: 30 })),
  ddim_steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
  lora_multipers: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 200 }), Type.Number({ minimum: -10, maximum: 10 }), { maxProperties: 16 })),
  clip_skip: Type.Optional(Type.Integer({ minimum: 1, maximum: 3 })),
  canny_weight: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  i2i_keep_texture: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])),
  long_resolution: Type.Optional(Type.Integer({ minimum: 256, maximum: 2048 })),
  id_scale: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  logo_info: Type.Optional(LogoInfoSchema)
}, { additionalProperties: false })
export type GenerationParams = Static<typeof GenerationParamsSchema>

export const StylizeFieldsSchema = Type.Object({
  ...GenerationParamsSchema.properties,
  preset: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  return_url: Type.Optional(Type.Boolean()),
  image_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  image_base64: Type.Optional(Type.String({ minLength: 1 }))
}, { additionalProperties: false })
export type StylizeFields = Static<typeof StylizeFieldsSchema>
