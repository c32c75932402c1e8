// An untrusted image made fit for the upstream: format sniffed from the bytes, pixel count checked before
// any decoding; a bare, whole JPEG of the right size is sent as it is, checked by its structure alone;
// anything else is decoded in sharp's threadpool, turned upright, stripped of all metadata (ICC converted
// to sRGB first), scaled into the upstream's limits and encoded as JPEG (PNG where alpha is used), in
// one pipeline where there is no alpha channel to look at.
import type { Metadata, SharpOptions } from 'sharp'
import {
  ACCEPTED_FORMATS_MESSAGE,
  InvalidImageError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError
} from '../errors.js'
import { bareJpegStructure, isBarePng } from './bare.js'
import { encodeForUpstream, JPEG_OPTIONS, type RawImage } from './encode.js'
import { fitUpstream, UPSTREAM_MAX_BYTES, UPSTREAM_MIN_LONG_SIDE, type Dimensions } from './fit.js'
import { usesAlpha } from './opacity.js'
import { sharp } from './sharp-setup.js'
import { sniffImage, type ImageFormat } from './sniff.js'

export interface PrepareOptions {
  maxImagePixels: number
  /** IMAGE_MAX_EDGE: larger photos are shrunk to this long edge */
  imageMaxEdge: number
  /** the request's long_resolution: never shrink below what the upstream will use */
  longResolution: number
}

export interface PreparedImage {
  data: Buffer
  format: 'jpeg' | 'png'
  mimeType: string
  width: number
  height: number
  inputFormat: ImageFormat
  inputBytes: number
  /** true when `data` is the input itself, untouched */
  passedThrough: boolean
}

const FORMAT_LABELS: Record<string, string> = { jpeg: 'JPEG', png: 'PNG', webp: 'WebP' }

export async function prepareImage (bytes: Buffer, options: PrepareOptions): Promise<PreparedImage> {
  const sniffed = sniffImage(bytes)
  if (sniffed.kind === 'unknown') {
    throw new UnsupportedMediaTypeError(`the image format was not recognised; ${ACCEPTED_FORMATS_MESSAGE}`)
  }
  if (sniffed.kind === 'unsupported') {
    throw new UnsupportedMediaTypeError(`${label(sniffed.format)} images are not accepted; ${ACCEPTED_FORMATS_MESSAGE}`)
  }
  const format = sniffed.format
  // Refused from the header alone, before sharp allocates anything (decompression bombs).
  if (sniffed.width !== undefined && sniffed.height !== undefined) {
    checkPixels(sniffed.width, sniffed.height, options.maxImagePixels)
  }

  const longEdge = Math.max(options.imageMaxEdge, UPSTREAM_MIN_LONG_SIDE, options.longResolution)
  const facts = { inputFormat: format, inputBytes: bytes.length }
  const asItIs = format === 'jpeg' ? jpegAsItIs(bytes, longEdge) : undefined
  if (asItIs !== undefined) {
    return { data: bytes, format: 'jpeg', mimeType: 'image/jpeg', ...asItIs, ...facts, passedThrough: true }
  }

  // failOn 'error' refuses truncated and corrupt data, yet tolerates the harmless warnings phones cause.
  const input: SharpOptions = { limitInputPixels: options.maxImagePixels, failOn: 'error' }
  const metadata = await decoding(format, () => sharp(bytes, input).metadata())
  checkPixels(metadata.width, metadata.height, options.maxImagePixels)

  const upright = (metadata.orientation ?? 1) >= 5
    ? { width: metadata.height, height: metadata.width }
    : { width: metadata.width, height: metadata.height }
  const size = fitUpstream(upright.width, upright.height, longEdge)
  if (size === undefined) {
    throw new InvalidImageError(`the image is ${upright.width}x${upright.height}: a shape wider than 4096:600 cannot fit the upstream's limits`)
  }

  if (await canPassThrough(bytes, format, metadata, size, input)) {
    const kept = format as 'jpeg' | 'png'
    return { data: bytes, format: kept, mimeType: `image/${kept}`, ...size, ...facts, passedThrough: true }
  }

  // One pipeline, decode to JPEG, when there is no alpha to look at; the raw path below otherwise.
  if (!metadata.hasAlpha) {
    const data = await decoding(format, () => scaled(bytes, input, size).jpeg(JPEG_OPTIONS).toBuffer())
    if (data.length <= UPSTREAM_MAX_BYTES) {
      return { data, format: 'jpeg', mimeType: 'image/jpeg', ...size, ...facts, passedThrough: false }
    }
  }
  const raw = await decoding(format, () => render(bytes, input, size))
  const keepAlpha = (raw.channels === 2 || raw.channels === 4) && await usesAlpha(rawSharp(raw))
  const encoded = await encodeForUpstream(raw, keepAlpha)
  return {
    data: encoded.data,
    format: encoded.format,
    mimeType: `image/${encoded.format}`,
    width: encoded.width,
    height: encoded.height,
    ...facts,
    passedThrough: false
  }
}

function label (format: string): string {
  return FORMAT_LABELS[format] ?? format.toUpperCase()
}

function checkPixels (width: number, height: number, maxImagePixels: number): void {
  if (width * height > maxImagePixels) {
    throw new PayloadTooLargeError(`the image is ${width}x${height} pixels, more than the ${maxImagePixels} pixels accepted`)
  }
}

/** Runs a step that decodes the input, mapping sharp's failures onto the contract's errors. */
async function decoding<T> (format: ImageFormat, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    // sharp's limitInputPixels, should the header disagree with what the sniffer read
    if (error instanceof Error && /pixel limit/i.test(error.message)) {
      throw new PayloadTooLargeError('the image has more pixels than accepted')
    }
    throw new InvalidImageError(`the image claims to be ${label(format)} but could not be decoded`)
  }
}

/** Decoded (shrink-on-load where it applies), upright, converted to 8-bit sRGB and scaled. */
function scaled (bytes: Buffer, input: SharpOptions, size: Dimensions) {
  return sharp(bytes, input).autoOrient().resize(size.width, size.height, { fit: 'fill' }).toColourspace('srgb')
}

/** The pixels of `scaled`: the only copy kept in memory, for the alpha check and re-encoding. */
async function render (bytes: Buffer, input: SharpOptions, size: Dimensions): Promise<RawImage> {
  const { data, info } = await scaled(bytes, input, size).raw().toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: info.channels }
}

function rawSharp (image: RawImage) {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
}

/**
 * A JPEG goes upstream untouched when re-encoding could not improve it, which its structure alone shows
 * (sharp never opens it): bare (no metadata, so no orientation and no profile), whole (jpeg-structure.ts),
 * 8-bit with three components (YCbCr; CMYK needs an Adobe marker, which is not bare) and already the size
 * to send. Corrupt entropy data inside a whole file is only a warning to libjpeg (a decode with failOn
 * 'error' accepts it: checked), so a decode here would cost milliseconds and refuse nothing more.
 */
function jpegAsItIs (bytes: Buffer, longEdge: number): Dimensions | undefined {
  if (bytes.length > UPSTREAM_MAX_BYTES) return undefined
  const structure = bareJpegStructure(bytes)
  if (structure === undefined || structure.precision !== 8 || structure.components !== 3) return undefined
  const size = fitUpstream(structure.width, structure.height, longEdge)
  return size?.width === structure.width && size.height === structure.height ? size : undefined
}

/** A PNG goes upstream untouched only when its alpha is used (JPEG is far smaller otherwise), it is
 *  already the right size, 8-bit sRGB, nothing but pixels in the file, and it decodes cleanly. */
async function canPassThrough (
  bytes: Buffer, format: ImageFormat, metadata: Metadata, size: Dimensions, input: SharpOptions
): Promise<boolean> {
  if (format !== 'png' || bytes.length > UPSTREAM_MAX_BYTES) return false
  if (size.width !== metadata.width || size.height !== metadata.height) return false
  if (metadata.depth !== 'uchar' || metadata.space !== 'srgb' || (metadata.pages ?? 1) !== 1) return false
  if (!metadata.hasAlpha || !isBarePng(bytes)) return false
  return await decoding(format, () => usesAlpha(sharp(bytes, input)))
}
