// Result images served for `return_url: true`, kept in memory; the oldest go first past the bound. Like
// Volcengine's object-store links, each link expires (`X-Tos-Date` + `X-Tos-Expires` seconds, in the URL):
// past it the link answers 403, whatever its query says.
import { randomBytes } from 'node:crypto'
import { formatXDate } from '../upstream/sign.js'

export class ResultStore {
  readonly #images = new Map<string, { image: Buffer, expiresAt: number }>()
  readonly #maxEntries: number
  readonly #ttlMs: number

  constructor (maxEntries = 64, ttlMs = 86_400_000) {
    this.#maxEntries = maxEntries
    this.#ttlMs = ttlMs
  }

  /** Stores the image: its id (URL-safe) and the query that says when its link expires. */
  put (image: Buffer, now = new Date()): { id: string, query: string } {
    const id = randomBytes(16).toString('hex')
    this.#images.set(id, { image, expiresAt: now.getTime() + this.#ttlMs })
    for (const oldest of this.#images.keys()) {
      if (this.#images.size <= this.#maxEntries) break
      this.#images.delete(oldest)
    }
    return { id, query: `X-Tos-Date=${formatXDate(now)}&X-Tos-Expires=${Math.floor(this.#ttlMs / 1000)}` }
  }

  /** The image, 'expired' once its link is past its time, or undefined when there is none. */
  get (id: string, now = Date.now()): Buffer | 'expired' | undefined {
    const entry = this.#images.get(id)
    if (entry === undefined) return undefined
    return now >= entry.expiresAt ? 'expired' : entry.image
  }
}
