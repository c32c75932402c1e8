// An untrusted image made fit for the upstream: format sniffed from the bytes, pixel count checked before
// any decoding, then decoded in sharp's threadpool, turned upright, stripped of all metadata (ICC converted
// to sRGB first), scaled into the upstream's limits and encoded as JPEG (PNG where alpha is used).
import type { Metadata, SharpOptions } from 'sharp'
import {
  ACCEPTED_FORMATS_MESSAGE,
  InvalidImageError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError
} from '../errors.js'
import { isBareJpeg, isBarePng } from './bare.js'
import { encodeForUpstream, type RawImage } from './encode.js'
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

  // failOn 'error' refuses truncated and corrupt data, yet tolerates the harmless warnings phones cause.
  const input: SharpOptions = { limitInputPixels: options.maxImagePixels, failOn: 'error' }
  const metadata = await decoding(format, () => sharp(bytes, input).metadata())
  checkPixels(metadata.width, metadata.height, options.maxImagePixels)

  const upright = (metadata.orientation ?? 1) >= 5
    ? { width: metadata.height, height: metadata.width }
    : { width: metadata.width, height: metadata.height }
  const longEdge = Math.max(options.imageMaxEdge, UPSTREAM_MIN_LONG_SIDE, options.longResolution)
  const size = fitUpstream(upright.width, upright.height, longEdge)
  if (size === undefined) {
    throw new InvalidImageError(`the image is ${upright.width}x${upright.height}: a shape wider than 4096:600 cannot fit the upstream's limits`)
  }

  const facts = { inputFormat: format, inputBytes: bytes.length }
  if (await canPassThrough(bytes, format, metadata, size, input)) {
    const kept = format as 'jpeg' | 'png'
    return { data: bytes, format: kept, mimeType: `image/${kept}`, ...size, ...facts, passedThrough: true }
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

/** Decoded, upright, converted to 8-bit sRGB and scaled: the only copy of the pixels kept in memory. */
async function render (bytes: Buffer, input: SharpOptions, size: Dimensions): Promise<RawImage> {
  const { data, info } = await sharp(bytes, input)
    .autoOrient()
    .resize(size.width, size.height, { fit: 'fill' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: info.channels }
}

function rawSharp (image: RawImage) {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
}

/**
 * An input may go upstream untouched only when re-encoding could not improve it: JPEG (or PNG whose alpha
 * is used), already the right size, 8-bit sRGB, nothing but pixels in the file, and it decodes cleanly.
 */
async function canPassThrough (
  bytes: Buffer, format: ImageFormat, metadata: Metadata, size: Dimensions, input: SharpOptions
): Promise<boolean> {
  if (bytes.length > UPSTREAM_MAX_BYTES) return false
  if (size.width !== metadata.width || size.height !== metadata.height) return false
  if (metadata.orientation !== undefined || metadata.depth !== 'uchar' || metadata.space !== 'srgb') return false
  if ((metadata.pages ?? 1) !== 1) return false
  if (format === 'jpeg') {
    if (metadata.channels !== 3 || !isBareJpeg(bytes)) return false
    // A truncated JPEG can look bare; decoding at 1/8 scale (shrink-on-load) reads every scan cheaply.
    await decoding(format, () => sharp(bytes, input).resize(64, 64, { fit: 'inside' }).raw().toBuffer())
    return true
  }
  if (format === 'png') {
    if (!metadata.hasAlpha || !isBarePng(bytes)) return false
    return await decoding(format, () => usesAlpha(sharp(bytes, input)))
  }
  return false
}
