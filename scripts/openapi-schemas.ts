// The request-body schemas of openapi.yaml, derived from the server's own TypeBox schema
// (src/stylize/schema.ts), so that the document cannot drift from what the server accepts.
// Only annotations (descriptions, examples) are added here; every validation keyword comes from TypeBox.
import { StylizeFieldsSchema, GenerationParamsSchema } from '../src/stylize/schema.js'

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema> }

const FIELD_DOCS: Record<string, { description: string, examples?: unknown[] }> = {
  image_url: { description: 'http(s) URL of the photo. The proxy downloads it itself (SSRF-guarded: no private, loopback or metadata addresses), or forwards it when IMAGE_URL_MODE=passthrough.', examples: ['https://example.com/me.jpg'] },
  image_base64: { description: 'The photo (JPEG, PNG or WebP) as plain base64 or a data: URL; at most MAX_UPLOAD_BYTES once decoded.', examples: ['/9j/4AAQSkZJRgABAQ…'] },
  image: { description: 'The photo file: JPEG, PNG or WebP by its bytes (the declared type does not matter); at most MAX_UPLOAD_BYTES.' },
  preset: { description: 'Name of a preset (GET /presets lists those your key may use). Default: angel.', examples: ['angel', 'angel-soft'] },
  prompt: { description: 'Your own prompt, replacing the preset\'s. Only for keys with allowPrompt, else 403 FORBIDDEN.' },
  strength: { description: 'How far the result may move from the photo (0 < x <= 1).', examples: [0.6] },
  seed: { description: 'Random seed; -1 (the presets\' default) picks a new one each call.', examples: [-1] },
  scale: { description: 'How closely the result follows the prompt (1..30).', examples: [8] },
  ddim_steps: { description: 'Sampling steps (1..50): more is slower and finer.', examples: [20] },
  lora_multipers: { description: 'LoRA name -> weight. Multipart: a JSON-encoded object.', examples: [{ Colorwater_v4: 0.2 }] },
  clip_skip: { description: 'CLIP layers to skip (1..3).', examples: [1] },
  canny_weight: { description: 'Weight of the edge (canny) control, 0..1.', examples: [0.8] },
  i2i_keep_texture: { description: '1 keeps the photo\'s texture, 0 does not.', examples: [1] },
  long_resolution: { description: 'Long edge of the result in pixels (256..2048).', examples: [704] },
  id_scale: { description: 'How much of the face identity to keep, 0..1.', examples: [0] },
  return_url: { description: 'true: answer with image_url (an upstream URL) instead of the image.', examples: [false] },
  logo_info: { description: 'Watermark on the result. Multipart: a JSON-encoded object.', examples: [{ add_logo: true, position: 0, language: 1, opacity: 0.3 }] }
}

/** TypeBox schemas are JSON Schema plus symbol keys: a JSON round trip keeps exactly the JSON Schema. */
function plain (schema: unknown): JsonSchema {
  return JSON.parse(JSON.stringify(schema)) as JsonSchema
}

function annotate (schema: JsonSchema): JsonSchema {
  const properties: Record<string, JsonSchema> = {}
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    properties[name] = { ...property, ...FIELD_DOCS[name] }
  }
  return { ...schema, properties }
}

/**
 * The exactly-one-image-source rule, which the server checks in code, as JSON Schema: one branch per
 * source, each with that source required (and typed, so that code generators keep the rule as a union of
 * complete shapes) and the other sources absent.
 */
function oneSourceOf (base: JsonSchema | undefined, sources: Record<string, JsonSchema>): JsonSchema[] {
  return Object.entries(sources).map(([name, schema]) => {
    const others = Object.keys(sources).filter((other) => other !== name)
    const branch: JsonSchema = {
      title: `with ${name}`,
      type: 'object',
      required: [name],
      properties: { [name]: schema },
      not: { anyOf: others.map((other) => ({ required: [other] })) }
    }
    // a copy each time: one shared object would be written as a YAML anchor and its alias
    return base === undefined ? branch : { title: branch.title, allOf: [plain(base), branch] }
  })
}

/** `components.schemas` entries that `npm run openapi` writes into openapi.yaml. */
export function requestSchemas (): Record<string, JsonSchema> {
  const fields = annotate(plain(StylizeFieldsSchema))
  const { image_base64: _base64, ...multipartFields } = fields.properties ?? {}
  return {
    GenerationParams: annotate(plain(GenerationParamsSchema)),
    StylizeFields: { description: 'Every field POST /stylize accepts; unknown fields are refused (400), JSON types are not coerced.', ...fields },
    StylizeJsonBody: {
      description: 'application/json body: exactly one of image_url or image_base64, and the optional fields.',
      oneOf: oneSourceOf({ $ref: '#/components/schemas/StylizeFields' }, {
        image_url: { type: 'string' },
        image_base64: { type: 'string' }
      })
    },
    StylizeMultipartBody: {
      description: 'multipart/form-data body: the file field image or the text field image_url, and the optional fields as text fields ' +
        '(numbers as numbers, true/false, objects as JSON). Fields may come before or after the file.',
      type: 'object',
      additionalProperties: false,
      properties: {
        image: { type: 'string', format: 'binary', contentMediaType: 'application/octet-stream', ...FIELD_DOCS.image },
        ...multipartFields
      },
      oneOf: oneSourceOf(undefined, {
        image: { type: 'string', format: 'binary' },
        image_url: { type: 'string' }
      })
    }
  }
}
