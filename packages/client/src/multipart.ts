// A multipart/form-data body streamed part by part: the text fields, then the image, read as it is sent
// (a file or a stream is never held in memory whole).
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'

export type ImageBytes = Uint8Array | Readable | { path: string }

export interface MultipartBody {
  contentType: string
  body: AsyncIterable<Uint8Array>
}

function isStream (image: ImageBytes): image is Readable {
  return typeof (image as Readable).pipe === 'function'
}

function escapeName (name: string): string {
  return name.replace(/["\r\n]/g, (c) => encodeURIComponent(c))
}

export function multipartBody (fields: Record<string, unknown>, image: ImageBytes): MultipartBody {
  const boundary = `----stylize-client-${randomBytes(12).toString('hex')}`
  async function * parts (): AsyncGenerator<Uint8Array> {
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue
      // objects (lora_multipers, logo_info) travel as JSON text, as the API documents
      const text = typeof value === 'object' ? JSON.stringify(value) : String(value)
      yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${text}\r\n`)
    }
    // the proxy judges the format by the bytes, so the declared type is only a hint
    yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="image"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n')
    if (image instanceof Uint8Array) {
      yield image
    } else {
      // a file stream has a `path` too: a stream is read as given
      const stream = isStream(image) ? image : createReadStream(image.path)
      for await (const chunk of stream) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Uint8Array
    }
    yield Buffer.from(`\r\n--${boundary}--\r\n`)
  }
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: parts() }
}
