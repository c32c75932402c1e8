// A job as it is kept (JobRecord) and as a client sees it (the contract's job object).
import { randomBytes } from 'node:crypto'

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'

export interface JobError { statusCode: number, code: string, message: string }

export interface WebhookState { attempts: number, delivered: boolean, last_status: number | null }

export interface JobRecord {
  id: string
  /** the client key that owns it: any other key sees 404 */
  keyId: string
  status: JobStatus
  createdAt: string
  startedAt?: string
  finishedAt?: string
  preset: string
  /** the submit's request id, so the worker's log lines can be followed back to it */
  requestId: string
  webhookUrl?: string
  /** the UTC day whose quota reservation a failure gives back */
  quotaDay?: string
  result?: { mimeType: string, upstreamImageUrl?: string, upstreamRequestId: string | null }
  /** attempts its call sent to the upstream, and the prepared image's bytes each sent (for the key's usage) */
  upstreamAttempts?: number
  bytesUp?: number
  error?: JobError
  webhook?: WebhookState
}

/** What a worker needs to run a job's upstream call: no more than the call itself. */
export interface QueuedCall {
  jobId: string
  body: Record<string, unknown>
  clientSeed: unknown
}

export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled'])

/** 128 random bits, URL-safe: ids cannot be guessed or enumerated. */
export function newJobId (): string {
  return randomBytes(16).toString('base64url')
}

export interface JobView {
  job_id: string
  status: JobStatus
  created_at: string
  preset: string
  position?: number
  estimated_wait_s?: number
  started_at?: string
  finished_at?: string
  result?: { mime_type: string, image_url: string }
  error?: JobError
  webhook?: WebhookState
}

export interface QueuePlace { position: number, estimatedWaitMs: number }

/** The contract's job object; `imageUrl` is where this proxy serves the result's bytes. */
export function jobView (record: JobRecord, place: QueuePlace | undefined, imageUrl: string): JobView {
  const view: JobView = { job_id: record.id, status: record.status, created_at: record.createdAt, preset: record.preset }
  if (record.status === 'queued' && place !== undefined) {
    view.position = place.position
    view.estimated_wait_s = Math.ceil(place.estimatedWaitMs / 1000)
  }
  if (record.startedAt !== undefined) view.started_at = record.startedAt
  if (record.finishedAt !== undefined) view.finished_at = record.finishedAt
  if (record.result !== undefined) {
    view.result = { mime_type: record.result.mimeType, image_url: record.result.upstreamImageUrl ?? imageUrl }
  }
  if (record.error !== undefined) view.error = record.error
  if (record.webhook !== undefined) view.webhook = record.webhook
  return view
}
