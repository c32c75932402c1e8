// Where jobs and their result bytes are kept: this process's memory, or Redis (store-redis.ts) so that
// any replica answers for any job. Finished jobs are dropped JOB_TTL_MS after they end.
import type { JobRecord, JobStatus } from './job.js'

export interface JobStore {
  create: (record: JobRecord) => Promise<void>
  get: (id: string) => Promise<JobRecord | undefined>
  /**
   * Writes the changed fields, atomically, only while the job's status is one of `from` (when given); the
   * job is kept for the TTL from now on. Undefined when it is gone or its status was another.
   */
  update: (id: string, patch: Partial<JobRecord>, from?: readonly JobStatus[]) => Promise<JobRecord | undefined>
  setImage: (id: string, bytes: Buffer) => Promise<void>
  getImage: (id: string) => Promise<Buffer | undefined>
  close: () => Promise<void>
}

export class MemoryJobStore implements JobStore {
  readonly #records = new Map<string, { record: JobRecord, image?: Buffer, expiresAt: number }>()
  readonly #ttlMs: number
  readonly #sweep: NodeJS.Timeout

  constructor (ttlMs: number) {
    this.#ttlMs = ttlMs
    this.#sweep = setInterval(() => { this.#dropExpired() }, Math.min(60_000, ttlMs))
    this.#sweep.unref()
  }

  async create (record: JobRecord): Promise<void> {
    this.#records.set(record.id, { record: { ...record }, expiresAt: Date.now() + this.#ttlMs })
  }

  async get (id: string): Promise<JobRecord | undefined> {
    const entry = this.#live(id)
    return entry === undefined ? undefined : { ...entry.record }
  }

  async update (id: string, patch: Partial<JobRecord>, from?: readonly JobStatus[]): Promise<JobRecord | undefined> {
    const entry = this.#live(id)
    if (entry === undefined || (from !== undefined && !from.includes(entry.record.status))) return undefined
    entry.record = { ...entry.record, ...patch }
    entry.expiresAt = Date.now() + this.#ttlMs
    return { ...entry.record }
  }

  async setImage (id: string, bytes: Buffer): Promise<void> {
    const entry = this.#live(id)
    if (entry !== undefined) entry.image = bytes
  }

  async getImage (id: string): Promise<Buffer | undefined> {
    return this.#live(id)?.image
  }

  async close (): Promise<void> {
    clearInterval(this.#sweep)
  }

  #live (id: string): { record: JobRecord, image?: Buffer, expiresAt: number } | undefined {
    const entry = this.#records.get(id)
    if (entry !== undefined && entry.expiresAt <= Date.now()) {
      this.#records.delete(id)
      return undefined
    }
    return entry
  }

  #dropExpired (): void {
    const now = Date.now()
    for (const [id, entry] of this.#records) if (entry.expiresAt <= now) this.#records.delete(id)
  }
}
