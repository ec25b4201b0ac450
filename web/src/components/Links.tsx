/** Links to a check and to the resource of a finding, as every table shows them. */
import type { Finding } from '../api'
import { resourceName } from '../format'
import { Link } from '../router'

/** The resource page, with the finding's row selected and its line in view. */
export const findingHref = (f: Finding) => `/resources/${f.resource.id}?finding=${f.id}`

/** A check's page; another tool's id may hold `:` and `/` (`trivy:KSV-0001`, a Kyverno policy/rule). */
export const checkHref = (id: string) => `/checks/${encodeURIComponent(id)}`

/** A check's id, linking to its page. */
export function CheckLink({ id }: { id: string }) {
  return (
    <Link to={checkHref(id)} className="mono">
      {id}
    </Link>
  )
}

/** A finding's resource by kind, namespace and name, linking to the resource page at that finding. */
export function FindingResourceLink({ finding }: { finding: Finding }) {
  return <Link to={findingHref(finding)}>{resourceName(finding.resource)}</Link>
}

/** A row's header naming a check: its title, linking to its page, over its id. */
export function CheckRowHeader({ id, title }: { id: string; title: string }) {
  return (
    <th scope="row" className="cell-text">
      <Link to={checkHref(id)}>{title}</Link>
      <div className="small muted mono">{id}</div>
    </th>
  )
}
