// What an Idempotency-Key holds: a claim while the first request runs, then its result. Only successes
// and the upstream's content refusals are kept (a retry after a 5xx may try again), and never the
// client's input image.

export type StoredResult =
  | {
    outcome: 'stylized'
    preset: string
    upstreamRequestId: string | null
    /** with image_base64; absent with image_url */
    mimeType?: string
    imageBase64?: string
    imageUrl?: string
  }
  | { outcome: 'content-rejected' }
  /** POST /jobs: the job the first submit made */
  | { outcome: 'job', jobId: string }

export type IdempotencyEntry =
  | { state: 'running', fingerprint: string, owner: string }
  | { state: 'done', fingerprint: string, result: StoredResult }

/** Where entries live: Redis (shared) or this replica's memory. Ids are already scoped to the client key. */
export interface IdempotencyStore {
  /** Takes `id` for `owner` when nothing is there (undefined); otherwise returns what is there. */
  claim: (id: string, fingerprint: string, owner: string, runningTtlMs: number) => Promise<IdempotencyEntry | undefined>
  /** Replaces the claim with the result, kept for ttlMs. */
  complete: (id: string, entry: IdempotencyEntry & { state: 'done' }, ttlMs: number) => Promise<void>
  /** Keeps the owner's claim alive (a crashed replica's claim expires instead). */
  renew: (id: string, owner: string, fingerprint: string, runningTtlMs: number) => Promise<void>
  /** Drops the owner's claim, so that a retry runs again. */
  abandon: (id: string, owner: string, fingerprint: string) => Promise<void>
}

/** Roughly what an entry costs in memory, for the bounded memory store. */
export function entryBytes (entry: IdempotencyEntry): number {
  if (entry.state === 'running' || entry.result.outcome !== 'stylized') return 256
  return 256 + (entry.result.imageBase64?.length ?? 0) + (entry.result.imageUrl?.length ?? 0)
}
