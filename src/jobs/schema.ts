// POST /jobs takes POST /stylize's fields plus where to call back when the job ends.
import { Type } from '@sinclair/typebox'
import { StylizeFieldsSchema } from '../stylize/schema.js'

export const JobFieldsSchema = Type.Object({
  ...StylizeFieldsSchema.properties,
  webhook_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 }))
}, { additionalProperties: false })
