import type { Store } from '../../src/store/connect.js'

/**
 * The store, but its next transaction fails with `message` once failNext() is called: a disk that
 * filled, PostgreSQL restarting mid-write. Everything else goes to the real store.
 */
export function failingOnce(
  store: Store,
  message = 'the store refused the write',
): {
  store: Store
  failNext: () => void
} {
  let fail = false
  const db = new Proxy(store.db, {
    get(target, prop) {
      if (prop === 'transaction' && fail) {
        fail = false
        return () => ({
          execute: async () => {
            throw new Error(message)
          },
        })
      }
      const v = Reflect.get(target, prop)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  return { store: { ...store, db }, failNext: () => (fail = true) }
}
