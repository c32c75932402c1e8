// `npm run keys -- create <id>`: a new client key, shown once, and the keys-file entry holding only its hash.
import { createHash, randomBytes } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { KEY_ID_PATTERN } from './schema.js'

/** The prefix makes a leaked key easy to find (grep, secret scanners). */
export const KEY_PREFIX = 'spk_'

export const USAGE = 'usage: npm run keys -- create <id>    (id: 1 to 64 of A-Z a-z 0-9 . _ -)'

export interface CreatedKey {
  key: string
  entry: { id: string, sha256: string }
}

export function createKey (id: string): CreatedKey {
  if (!new RegExp(KEY_ID_PATTERN).test(id)) throw new Error(`invalid id "${id}"; ${USAGE}`)
  const key = KEY_PREFIX + randomBytes(32).toString('base64url')
  return { key, entry: { id, sha256: createHash('sha256').update(key, 'utf8').digest('hex') } }
}

/** Runs the command; returns the exit code. */
export function main (args: string[], out: (line: string) => void, err: (line: string) => void): number {
  const [command, id, ...rest] = args
  if (command !== 'create' || id === undefined || rest.length > 0 || !new RegExp(KEY_ID_PATTERN).test(id)) {
    err(USAGE)
    return 2
  }
  const { key, entry } = createKey(id)
  out(`New client key for "${id}" (shown only this once; store it now):`)
  out('')
  out(`  ${key}`)
  out('')
  out('Add this entry to the "keys" list of the keys file (API_KEYS_FILE), then reload (SIGHUP):')
  out('')
  out(`  ${JSON.stringify(entry)}`)
  return 0
}

function isEntryPoint (): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  process.exitCode = main(process.argv.slice(2), (line) => process.stdout.write(line + '\n'), (line) => process.stderr.write(line + '\n'))
}
