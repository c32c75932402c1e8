// The current KeyStore, swapped whole on reload (SIGHUP or a file change); a broken file keeps the last good one.
import { watch as watchFs } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import type { BaseLogger } from 'pino'
import { loadKeysFile, type ClientKey, type KeyStore } from './store.js'

export type KeyRingLogger = Pick<BaseLogger, 'info' | 'warn' | 'error'>

export class KeyRing {
  readonly path: string
  #store: KeyStore
  readonly #log: KeyRingLogger
  /** only the latest reload may install its result, whatever order the reads finish in */
  #reloads = 0

  constructor (path: string, store: KeyStore, log: KeyRingLogger) {
    this.path = path
    this.#store = store
    this.#log = log
  }

  /** Loads the file once; throws KeysFileError when it is missing or broken (the service must not start). */
  static async load (path: string, log: KeyRingLogger): Promise<KeyRing> {
    const absolute = resolve(path)
    const store = await loadKeysFile(absolute)
    log.info({ keysFile: absolute, keys: store.size }, 'client keys loaded')
    return new KeyRing(absolute, store, log)
  }

  get size (): number {
    return this.#store.size
  }

  /** See KeyStore.lookup: a disabled key is returned, and the caller refuses it. */
  lookup (presentedKey: string, now?: Date): ClientKey | undefined {
    return this.#store.lookup(presentedKey, now)
  }

  /** Re-reads the file. False (and the previous keys kept) when it is missing or broken. */
  async reload (): Promise<boolean> {
    const attempt = ++this.#reloads
    try {
      const store = await loadKeysFile(this.path)
      if (attempt !== this.#reloads) return false // a newer reload started meanwhile and decides
      this.#store = store
      this.#log.info({ keysFile: this.path, keys: store.size }, 'client keys reloaded')
      return true
    } catch (err) {
      // KeysFileError messages hold no hash or key, so the reason can be logged as it is.
      this.#log.error({ keysFile: this.path, reason: (err as Error).message, keys: this.#store.size },
        'client keys not reloaded; keeping the last good keys')
      return false
    }
  }

  /**
   * Reloads when the file changes. Watches the directory, not the file: editors and Kubernetes replace
   * the file (rename, `..data` symlink swap), which a watch on the old file would never see.
   * Returns the function that stops watching.
   */
  watch (debounceMs = 200): () => void {
    const file = basename(this.path)
    let timer: NodeJS.Timeout | undefined
    const watcher = watchFs(dirname(this.path), (_event, changed) => {
      if (changed !== null && changed !== file && !changed.startsWith('..')) return
      clearTimeout(timer)
      // reload() logs its own failures and never rejects
      timer = setTimeout(() => { this.reload().catch(() => {}) }, debounceMs)
      timer.unref()
    })
    watcher.on('error', (err) => this.#log.warn({ keysFile: this.path, reason: err.message }, 'keys file watch failed; SIGHUP still reloads'))
    watcher.unref()
    return () => {
      clearTimeout(timer)
      watcher.close()
    }
  }
}
