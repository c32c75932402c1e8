// Reads POST /stylize's body, multipart or JSON, into validated fields and one raw image source.
// Nothing here decodes an image: bytes are only bounded; the image module judges them.
import type { FastifyRequest } from 'fastify'
import type { Multipart, MultipartFile, MultipartValue } from '@fastify/multipart'
import type { TObject } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { InvalidRequestError, PayloadTooLargeError } from '../errors.js'
import { StylizeFieldsSchema, type StylizeFields } from './schema.js'

export type ImageSource =
  | { kind: 'bytes', bytes: Buffer, origin: 'upload' | 'base64' }
  | { kind: 'url', url: string }

export interface StylizeInput {
  fields: Omit<StylizeFields, 'image_url' | 'image_base64'>
  image: ImageSource
}

export interface InputLimits {
  maxUploadBytes: number
}

const stylizeFields = TypeCompiler.Compile(StylizeFieldsSchema)
type FieldsCheck = typeof stylizeFields

export const MULTIPART_LIMITS = {
  // the image, and the object fields (lora_multipers, logo_info) when sent as application/json parts
  files: 3,
  fields: 24,
  fieldSize: 64 * 1024,
  parts: 26,
  headerPairs: 100
}

/** The JSON body limit: base64 grows by 4/3, and the other fields are small. */
export function jsonBodyLimit (maxUploadBytes: number): number {
  return Math.ceil(maxUploadBytes * 4 / 3) + 256 * 1024
}

/** A compiled schema for a route whose body is /stylize's with more fields (POST /jobs). */
export function compileFields (schema: TObject): FieldsCheck {
  return TypeCompiler.Compile(schema) as unknown as FieldsCheck
}

function validateFields (value: Record<string, unknown>, checkFields: FieldsCheck): StylizeFields {
  if (checkFields.Check(value)) return value
  const first = checkFields.Errors(value).First()
  const path = first?.path.replace(/^\//, '').replace(/\//g, '.') || 'body'
  const message = first?.message ?? 'is invalid'
  throw new InvalidRequestError(message === 'Unexpected property' ? `unknown field "${path}"` : `${path}: ${message.toLowerCase()}`)
}

/** Multipart text fields arrive as strings: parse them by the schema's type, strictly. */
function parseMultipartField (name: string, raw: string): unknown {
  const schema = (StylizeFieldsSchema.properties as Record<string, { type?: string, anyOf?: unknown[] }>)[name]
  if (schema === undefined) return raw
  const type = schema.type ?? (schema.anyOf ? 'number' : 'string')
  switch (type) {
    case 'number':
    case 'integer':
      if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw.trim())) throw new InvalidRequestError(`${name}: must be a number`)
      return Number(raw)
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new InvalidRequestError(`${name}: must be true or false`)
      return raw === 'true'
    case 'object':
      try {
        return JSON.parse(raw)
      } catch {
        throw new InvalidRequestError(`${name}: must be a JSON object`)
      }
    default:
      return raw
  }
}

const DATA_URL_PREFIX = /^data:[\w.+-]+\/[\w.+-]+(;[\w.+-]+=[\w.+-]+)*;base64,/i
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Decodes plain or data-URL base64, refusing what is over the byte limit before decoding. */
export function decodeBase64Image (value: string, maxUploadBytes: number): Buffer {
  const payload = value.replace(DATA_URL_PREFIX, '').replace(/\s+/g, '')
  if (Math.floor(payload.length * 3 / 4) - 2 > maxUploadBytes) {
    throw new PayloadTooLargeError(`the image is larger than ${maxUploadBytes} bytes`)
  }
  if (payload.length === 0 || payload.length % 4 === 1 || !BASE64.test(payload)) {
    throw new InvalidRequestError('image_base64: must be base64 or a data: URL')
  }
  const bytes = Buffer.from(payload, 'base64')
  if (bytes.length > maxUploadBytes) throw new PayloadTooLargeError(`the image is larger than ${maxUploadBytes} bytes`)
  return bytes
}

function oneImageSource (fields: StylizeFields, upload: Buffer | undefined, maxUploadBytes: number): ImageSource {
  const sources = [upload !== undefined, fields.image_url !== undefined, fields.image_base64 !== undefined].filter(Boolean).length
  if (sources !== 1) {
    throw new InvalidRequestError(sources === 0
      ? 'no image: send a file field "image", "image_url" or "image_base64"'
      : 'send exactly one image source: "image", "image_url" or "image_base64"')
  }
  if (upload !== undefined) return { kind: 'bytes', bytes: upload, origin: 'upload' }
  if (fields.image_url !== undefined) return { kind: 'url', url: fields.image_url }
  return { kind: 'bytes', bytes: decodeBase64Image(fields.image_base64 as string, maxUploadBytes), origin: 'base64' }
}

/** busboy's words for a body that is not well-formed multipart (the client's doing, not ours). */
const MALFORMED_MULTIPART = /^(Multipart: Boundary not found|Part terminated early|Unexpected end of (form|multipart data)|Malformed part header)/

/** Parser and stream failures caused by the client's body or its connection, as the contract's 400. */
function clientBodyError (error: unknown, limits: InputLimits): unknown {
  const { message, code } = error as { message?: string, code?: string }
  // the plugin's own limit errors, told with the limit that was passed
  if (code === 'FST_REQ_FILE_TOO_LARGE') return new PayloadTooLargeError(`the image is larger than ${limits.maxUploadBytes} bytes`)
  if (code === 'FST_FILES_LIMIT') return new PayloadTooLargeError('one file is accepted: the image, in the file field "image"')
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') {
    return new PayloadTooLargeError(`at most ${MULTIPART_LIMITS.fields} fields and one file are accepted`)
  }
  if (typeof message === 'string' && message.startsWith('Multipart: Boundary not found')) {
    return new InvalidRequestError('multipart/form-data needs its boundary parameter in Content-Type')
  }
  if (typeof message === 'string' && MALFORMED_MULTIPART.test(message)) {
    return new InvalidRequestError('the multipart body is malformed or ended before its closing boundary')
  }
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET') {
    return new InvalidRequestError('the client closed the connection before the whole body arrived')
  }
  return error
}

async function readMultipart (request: FastifyRequest, limits: InputLimits, checkFields: FieldsCheck): Promise<StylizeInput> {
  try {
    return await readMultipartParts(request, limits, checkFields)
  } catch (error) {
    throw clientBodyError(error, limits)
  }
}

async function readMultipartParts (request: FastifyRequest, limits: InputLimits, checkFields: FieldsCheck): Promise<StylizeInput> {
  const raw: Record<string, unknown> = Object.create(null)
  let upload: Buffer | undefined
  const parts = request.parts({ limits: { ...MULTIPART_LIMITS, fileSize: limits.maxUploadBytes } })
  try {
    // next() by hand: a for-await would close the iterator on a throw, leaving the body unread
    for (let next = await parts.next(); next.done !== true; next = await parts.next()) {
      const part = next.value
      let name = part.fieldname
      let value: string
      if (part.type === 'file' && !isJsonField(part)) {
        if (upload !== undefined) {
          part.file.resume()
          throw new PayloadTooLargeError('one file is accepted: the image, in the file field "image"')
        }
        upload = await readImageFile(part)
        continue
      } else if (part.type === 'file') {
        // an object field sent as a JSON part (swagger-ui does this, empty when left blank)
        value = await readJsonPart(part)
        if (value.trim() === '') continue
      } else {
        const field = part as MultipartValue<unknown>
        if (field.valueTruncated) throw new PayloadTooLargeError(`field "${field.fieldname}" is too large`)
        name = field.fieldname
        value = String(field.value)
      }
      if (name === 'image_base64') {
        throw new InvalidRequestError('image_base64 is for JSON bodies: upload the file as the field "image"')
      }
      if (Object.hasOwn(raw, name)) throw new InvalidRequestError(`field "${name}" is given twice`)
      raw[name] = parseMultipartField(name, value)
    }
  } catch (error) {
    await drain(parts)
    // A body cut off at a limit is still arriving: detach the parser; the error handler drops the rest.
    if (!request.raw.complete) request.raw.unpipe()
    throw error
  }
  return split(validateFields(raw, checkFields), upload, limits)
}

/** A part declared application/json, other than the image's: a field's value, not a file. */
function isJsonField (file: MultipartFile): boolean {
  return file.fieldname !== 'image' && /^application\/json\b/i.test(file.mimetype)
}

async function readJsonPart (file: MultipartFile): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of file.file as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MULTIPART_LIMITS.fieldSize) {
      file.file.resume()
      throw new PayloadTooLargeError(`field "${file.fieldname}" is too large`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

async function readImageFile (file: MultipartFile): Promise<Buffer> {
  if (file.fieldname !== 'image') {
    file.file.resume()
    throw new InvalidRequestError(`unexpected file field "${file.fieldname}": the image goes in the file field "image"`)
  }
  const bytes = await file.toBuffer()
  // @fastify/multipart keeps each part, and so this buffer, reachable for the whole request (its upstream
  // wait included): the part lets go of it here, and the call lets go of its own once the photo is prepared
  ;(file as unknown as { _buf: Buffer | null })._buf = null
  return bytes
}

/** Reads the rest of a refused body (bounded by the multipart limits), so the connection stays usable. */
async function drain (parts: AsyncIterableIterator<Multipart>): Promise<void> {
  try {
    for (let next = await parts.next(); next.done !== true; next = await parts.next()) {
      if (next.value.type === 'file') next.value.file.resume()
    }
  } catch {
    // the body is broken or over a limit: nothing more to read
  }
}

function split (fields: StylizeFields, upload: Buffer | undefined, limits: InputLimits): StylizeInput {
  const image = oneImageSource(fields, upload, limits.maxUploadBytes)
  const { image_url: _url, image_base64: _base64, ...rest } = fields
  return { fields: rest, image }
}

export async function readStylizeInput (request: FastifyRequest, limits: InputLimits, checkFields = stylizeFields): Promise<StylizeInput> {
  if (request.isMultipart()) return await readMultipart(request, limits, checkFields)
  const body = request.body
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError('the JSON body must be an object')
  }
  const input = split(validateFields(body as Record<string, unknown>, checkFields), undefined, limits)
  // the parsed body holds the photo's base64 (4/3 of its bytes) for as long as the request lives, which
  // is the whole upstream wait: only the decoded bytes are kept, and only until the photo is prepared
  request.body = undefined
  return input
}
