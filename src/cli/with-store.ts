/**
 * A command's short stay in the store: open it (saying what is wrong, prefixed with the command, when
 * it cannot be opened), do the job, close it whatever happens. The store's modules are imported only
 * here, when a command needs them.
 */
import type { Store } from '../store/connect.js'
import { EXIT_USAGE } from './exit-codes.js'

export async function withStore(
  /** a file or a postgres:// URL; the default store when undefined */
  location: string | undefined,
  /** the command as said in an error, e.g. `plimsoll token` */
  command: string,
  job: (store: Store) => Promise<number>,
): Promise<number> {
  const { defaultStorePath, openStore } = await import('../store/connect.js')
  let store: Store
  try {
    store = await openStore(location ?? defaultStorePath())
  } catch (err) {
    process.stderr.write(`${command}: ${(err as Error).message}\n`)
    return EXIT_USAGE
  }
  try {
    return await job(store)
  } finally {
    await store.close()
  }
}
