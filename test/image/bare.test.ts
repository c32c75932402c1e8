import { test } from 'tap'
import { isBareJpeg, isBarePng } from '../../src/image/bare.js'
import { PHONE_EXIF, solid, withJpegComment, withPngText, XMP } from './fixtures/images.js'

test('a JPEG written without metadata is bare, baseline or progressive', async (t) => {
  t.ok(isBareJpeg(await solid(64, 48).jpeg().toBuffer()))
  t.ok(isBareJpeg(await solid(64, 48).jpeg({ progressive: true }).toBuffer()))
})

function withApp0 (jpeg: Buffer, body: Buffer): Buffer {
  const header = Buffer.from([0xff, 0xe0, 0, 0])
  header.writeUInt16BE(body.length + 2, 2)
  return Buffer.concat([jpeg.subarray(0, 2), header, body, jpeg.subarray(2)])
}

test('a plain JFIF header is allowed; one carrying a thumbnail is not', async (t) => {
  const jpeg = await solid(64, 48).jpeg().toBuffer()
  const jfif = Buffer.from([...Buffer.from('JFIF\0', 'latin1'), 1, 1, 0, 0, 1, 0, 1, 0, 0])
  t.ok(isBareJpeg(withApp0(jpeg, jfif)))
  const thumbnail = Buffer.concat([jfif.subarray(0, 12), Buffer.from([1, 1]), Buffer.alloc(3, 0x80)])
  t.notOk(isBareJpeg(withApp0(jpeg, thumbnail)))
})

test('EXIF, ICC, XMP and comments make a JPEG not bare', async (t) => {
  t.notOk(isBareJpeg(await solid(64, 48).jpeg().withExif(PHONE_EXIF).toBuffer()), 'EXIF')
  t.notOk(isBareJpeg(await solid(64, 48).jpeg().withIccProfile('srgb').toBuffer()), 'ICC')
  t.notOk(isBareJpeg(await solid(64, 48).jpeg().withXmp(XMP).toBuffer()), 'XMP')
  t.notOk(isBareJpeg(withJpegComment(await solid(64, 48).jpeg().toBuffer(), 'lat 48.85')), 'COM')
})

test('bytes after the JPEG end marker (phone trailers) make it not bare', async (t) => {
  const jpeg = await solid(64, 48).jpeg().toBuffer()
  t.notOk(isBareJpeg(Buffer.concat([jpeg, Buffer.from('SEFHlocation')])))
})

test('a truncated JPEG is not bare', async (t) => {
  const jpeg = await solid(64, 48).jpeg().toBuffer()
  t.notOk(isBareJpeg(jpeg.subarray(0, jpeg.length - 10)))
  t.notOk(isBareJpeg(jpeg.subarray(0, 3)))
})

test('a PNG written without metadata is bare; text chunks, profiles and trailers are not', async (t) => {
  const png = await solid(64, 48).png().toBuffer()
  t.ok(isBarePng(png))
  t.notOk(isBarePng(withPngText(png, 'Comment', 'taken at home')), 'tEXt')
  t.notOk(isBarePng(await solid(64, 48).png().withIccProfile('srgb').toBuffer()), 'iCCP')
  t.notOk(isBarePng(await solid(64, 48).png().withExif(PHONE_EXIF).toBuffer()), 'eXIf')
  t.notOk(isBarePng(Buffer.concat([png, Buffer.from('trailer')])), 'trailer')
  t.notOk(isBarePng(png.subarray(0, png.length - 12)), 'no IEND')
})

test('a second APP0 (a thumbnail before a plain JFIF header) makes a JPEG not bare', async (t) => {
  const jpeg = await solid(64, 48).jpeg().toBuffer()
  const jfif = Buffer.from([...Buffer.from('JFIF\0', 'latin1'), 1, 1, 0, 0, 1, 0, 1, 0, 0])
  const jfxx = Buffer.concat([Buffer.from('JFXX\0', 'latin1'), Buffer.from([0x13]), Buffer.alloc(40, 0x80)])
  t.ok(isBareJpeg(withApp0(jpeg, jfif)), 'one plain JFIF header is')
  t.notOk(isBareJpeg(withApp0(withApp0(jpeg, jfif), jfxx)))
})
