/**
 * The debt register: exceptions kept in the store, with owner, reason, expiry and who created them.
 * They have the shape of an exceptions file's entries, so a scan can apply them the same way.
 */
import type { ExceptionInput, StoredExceptionView } from '../api-types.js'
import type { ExceptionRule } from '../policy/exceptions.js'
import type { Store } from './connect.js'
import type { StoredException } from './schema.js'

// What the API takes and answers: one definition, in src/api-types.ts.
export type { ExceptionInput, StoredExceptionView } from '../api-types.js'

function view(r: StoredException, today: string): StoredExceptionView {
  return {
    id: Number(r.id),
    checks: JSON.parse(r.checks),
    kinds: JSON.parse(r.kinds),
    namespaces: JSON.parse(r.namespaces),
    names: JSON.parse(r.names),
    labels: JSON.parse(r.labels),
    owner: r.owner,
    reason: r.reason,
    expires: r.expires,
    createdBy: r.created_by,
    createdAt: r.created_at,
    expired: r.expires < today,
  }
}

const today = () => new Date().toISOString().slice(0, 10)

export async function listExceptions(store: Store): Promise<StoredExceptionView[]> {
  const rows = await store.db.selectFrom('exceptions').selectAll().orderBy('expires').orderBy('id').execute()
  const t = today()
  return rows.map((r) => view(r, t))
}

export async function getException(store: Store, id: number): Promise<StoredExceptionView | undefined> {
  const r = await store.db.selectFrom('exceptions').selectAll().where('id', '=', id).executeTakeFirst()
  return r ? view(r, today()) : undefined
}

function columns(input: ExceptionInput) {
  return {
    checks: JSON.stringify(input.checks),
    kinds: JSON.stringify(input.kinds ?? []),
    namespaces: JSON.stringify(input.namespaces ?? []),
    names: JSON.stringify(input.names ?? []),
    labels: JSON.stringify(input.labels ?? {}),
    owner: input.owner,
    reason: input.reason,
    expires: input.expires,
  }
}

export async function createException(
  store: Store,
  input: ExceptionInput,
  createdBy: string,
): Promise<StoredExceptionView> {
  const { id } = await store.db
    .insertInto('exceptions')
    .values({ ...columns(input), created_by: createdBy, created_at: new Date().toISOString() })
    .returning('id')
    .executeTakeFirstOrThrow()
  return (await getException(store, Number(id)))!
}

export async function updateException(
  store: Store,
  id: number,
  input: ExceptionInput,
): Promise<StoredExceptionView | undefined> {
  const r = await store.db
    .updateTable('exceptions')
    .set(columns(input))
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(r.numUpdatedRows) === 0 ? undefined : getException(store, id)
}

export async function deleteException(store: Store, id: number): Promise<boolean> {
  const r = await store.db.deleteFrom('exceptions').where('id', '=', id).executeTakeFirst()
  return Number(r.numDeletedRows) > 0
}

/** The register as exception rules, for a scan to apply (`plimsoll scan --store`). */
export async function exceptionRules(store: Store): Promise<ExceptionRule[]> {
  return (await listExceptions(store)).map((e) => ({
    file: `store#${e.id}`,
    index: e.id,
    checks: e.checks,
    kinds: e.kinds,
    namespaces: e.namespaces,
    names: e.names,
    labels: e.labels,
    owner: e.owner,
    reason: e.reason,
    expires: e.expires,
  }))
}
