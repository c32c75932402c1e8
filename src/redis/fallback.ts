// Shared while Redis answers, alone otherwise: the choice every store makes for each operation.
import type { RedisConnection } from './connection.js'

export type Where = 'redis' | 'memory'

/**
 * Runs `shared` while Redis is up, `local` (this replica's memory) while it is down or when `shared`
 * fails (a timeout, a dropped connection): a lost Redis costs the fleet its shared view, never a request.
 */
export async function sharedOrLocal<T> (
  redis: RedisConnection | undefined,
  shared: () => Promise<T>,
  local: () => T | Promise<T>
): Promise<{ value: T, where: Where }> {
  if (redis?.state.up === true) {
    try {
      return { value: await shared(), where: 'redis' }
    } catch {
      // the connection's state logs the outage (once); each failed command is not worth a line
    }
  }
  return { value: await local(), where: 'memory' }
}
