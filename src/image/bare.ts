// Whether a JPEG or PNG holds nothing but its picture: no EXIF, GPS, XMP, IPTC, ICC, comments, text chunks,
// thumbnails or bytes after its end (phones append trailers there). Only such a file may go upstream untouched.
import { readJpegStructure, type JpegStructure } from './jpeg-structure.js'

// DQT, DHT, DRI, baseline/extended/progressive SOF; APP0 is allowed only as a bare JFIF header (no thumbnail).
const PLAIN_JPEG_SEGMENTS = new Set([0xdb, 0xc4, 0xdd, 0xc0, 0xc1, 0xc2, 0xda, 0xe0])
const JFIF_WITHOUT_THUMBNAIL_LENGTH = 16
const APP0 = 0xe0

/** The structure of a bare JPEG that is whole as far as its structure shows (jpeg-structure.ts); else undefined. */
export function bareJpegStructure (bytes: Buffer): JpegStructure | undefined {
  const structure = readJpegStructure(bytes)
  if (structure === undefined || !structure.markers.every((marker) => PLAIN_JPEG_SEGMENTS.has(marker))) return undefined
  // one APP0 at most: a thumbnail could hide in a first one, before a plain JFIF header
  if (structure.markers.filter((marker) => marker === APP0).length > 1) return undefined
  const plainHeader = structure.app0 === undefined ||
    (structure.app0.length === JFIF_WITHOUT_THUMBNAIL_LENGTH && structure.app0.identifier === 'JFIF\0')
  return plainHeader ? structure : undefined
}

export function isBareJpeg (bytes: Buffer): boolean {
  return bareJpegStructure(bytes) !== undefined
}

// Chunks that only describe pixels; tEXt/zTXt/iTXt/eXIf/iCCP/tIME, animation and private chunks are not.
const PLAIN_PNG_CHUNKS = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND', 'gAMA', 'cHRM', 'sRGB', 'sBIT', 'pHYs', 'bKGD'])

export function isBarePng (bytes: Buffer): boolean {
  let i = 8
  while (i + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(i)
    const type = bytes.toString('latin1', i + 4, i + 8)
    if (!PLAIN_PNG_CHUNKS.has(type)) return false
    i += 12 + length
    if (type === 'IEND') return i === bytes.length
  }
  return false
}
