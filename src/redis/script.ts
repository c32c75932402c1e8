// A Lua script run by its SHA (ioredis defineCommand: EVALSHA, with EVAL when Redis does not know it yet).
import type { Redis } from 'ioredis'

export type Script = (keys: string[], args: Array<string | number>) => Promise<unknown>

export function defineScript (client: Redis, name: string, numberOfKeys: number, lua: string): Script {
  const commands = client as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>
  if (typeof commands[name] !== 'function') client.defineCommand(name, { numberOfKeys, lua })
  return async (keys, args) => await (commands[name] as (...args: Array<string | number>) => Promise<unknown>).call(client, ...keys, ...args)
}
