/** The pages and their URLs. */
import type { ReactNode } from 'react'
import { Layout } from './components/Layout'
import { AdmissionsPage } from './pages/Admissions'
import { AlertsPage } from './pages/Alerts'
import { CheckPage } from './pages/Check'
import { ChecksPage } from './pages/Checks'
import { ClusterPage } from './pages/Cluster'
import { ClustersPage } from './pages/Clusters'
import { CompliancePage } from './pages/Compliance'
import { CostPage } from './pages/Cost'
import { DebtPage } from './pages/Debt'
import { EnforcementPage } from './pages/Enforcement'
import { FindingsPage } from './pages/Findings'
import { MaturityPage } from './pages/Maturity'
import { NotFoundPage } from './pages/NotFound'
import { OverviewPage } from './pages/Overview'
import { ResourcePage } from './pages/Resource'
import { RightsizingPage } from './pages/Rightsizing'
import { UpgradesPage } from './pages/Upgrades'
import { UsagePage } from './pages/Usage'
import { VulnerabilitiesPage } from './pages/Vulnerabilities'
import { match, useLocation } from './router'

const ROUTES: { pattern: string; page: (params: Record<string, string>) => ReactNode }[] = [
  { pattern: '/', page: () => <OverviewPage /> },
  { pattern: '/findings', page: () => <FindingsPage /> },
  { pattern: '/resources/:id', page: (p) => <ResourcePage key={p.id} id={Number(p.id)} /> },
  { pattern: '/clusters', page: () => <ClustersPage /> },
  { pattern: '/clusters/:name', page: (p) => <ClusterPage key={p.name} name={p.name!} /> },
  { pattern: '/checks', page: () => <ChecksPage /> },
  { pattern: '/checks/:id', page: (p) => <CheckPage key={p.id} id={p.id!} /> },
  { pattern: '/debt', page: () => <DebtPage /> },
  { pattern: '/vulnerabilities', page: () => <VulnerabilitiesPage /> },
  { pattern: '/upgrades', page: () => <UpgradesPage /> },
  { pattern: '/compliance', page: () => <CompliancePage /> },
  { pattern: '/compliance/:framework', page: (p) => <CompliancePage framework={p.framework!} /> },
  { pattern: '/admissions', page: () => <AdmissionsPage /> },
  { pattern: '/alerts', page: () => <AlertsPage /> },
  { pattern: '/enforcement', page: () => <EnforcementPage /> },
  { pattern: '/usage', page: () => <UsagePage /> },
  { pattern: '/usage/rightsizing', page: () => <RightsizingPage /> },
  { pattern: '/usage/cost', page: () => <CostPage /> },
  { pattern: '/maturity', page: () => <MaturityPage /> },
]

function CurrentPage() {
  const { pathname } = useLocation()
  for (const route of ROUTES) {
    const params = match(route.pattern, pathname)
    if (params) return route.page(params)
  }
  return <NotFoundPage />
}

export function App() {
  return (
    <Layout>
      <CurrentPage />
    </Layout>
  )
}
