// Result images served for `return_url: true`, kept in memory; the oldest go first past the bound.
import { randomBytes } from 'node:crypto'

export class ResultStore {
  readonly #images = new Map<string, Buffer>()
  readonly #maxEntries: number

  constructor (maxEntries = 64) {
    this.#maxEntries = maxEntries
  }

  /** Stores the image and returns its id (URL-safe). */
  put (image: Buffer): string {
    const id = randomBytes(16).toString('hex')
    this.#images.set(id, image)
    for (const oldest of this.#images.keys()) {
      if (this.#images.size <= this.#maxEntries) break
      this.#images.delete(oldest)
    }
    return id
  }

  get (id: string): Buffer | undefined {
    return this.#images.get(id)
  }
}
