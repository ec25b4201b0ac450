/** The frame of every page: a skip link, the header (name, navigation, theme, sign-in), and <main>. */
import { type ReactNode, useEffect, useRef } from 'react'
import { useAuth } from '../auth'
import { Link, useLocation } from '../router'
import { useTheme } from '../theme'

const NAV = [
  { to: '/', label: 'Overview', active: (p: string) => p === '/' },
  {
    to: '/findings',
    label: 'Findings',
    active: (p: string) => p === '/findings' || p.startsWith('/resources/'),
  },
  { to: '/clusters', label: 'Clusters', active: (p: string) => p.startsWith('/clusters') },
  { to: '/checks', label: 'Checks', active: (p: string) => p.startsWith('/checks') },
  { to: '/debt', label: 'Debt', active: (p: string) => p === '/debt' },
  { to: '/vulnerabilities', label: 'Vulnerabilities', active: (p: string) => p === '/vulnerabilities' },
  { to: '/upgrades', label: 'Upgrades', active: (p: string) => p === '/upgrades' },
  { to: '/compliance', label: 'Compliance', active: (p: string) => p.startsWith('/compliance') },
  { to: '/admissions', label: 'Admissions', active: (p: string) => p === '/admissions' },
  { to: '/alerts', label: 'Alerts', active: (p: string) => p === '/alerts' },
  { to: '/enforcement', label: 'Enforcement', active: (p: string) => p === '/enforcement' },
  { to: '/usage', label: 'Usage', active: (p: string) => p === '/usage' || p.startsWith('/usage/') },
  { to: '/maturity', label: 'Maturity', active: (p: string) => p === '/maturity' },
]

function MainNav() {
  const { pathname } = useLocation()
  return (
    <nav aria-label="Main" className="main-nav">
      <ul>
        {NAV.map((item) => (
          <li key={item.to}>
            <Link to={item.to} aria-current={item.active(pathname) ? 'page' : undefined}>
              {item.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  )
}

function ThemeToggle() {
  const { theme, toggle } = useTheme()
  return (
    <button type="button" className="toggle" aria-pressed={theme === 'dark'} onClick={toggle}>
      <span aria-hidden="true">{theme === 'dark' ? '☾' : '☀'}</span> Dark theme
    </button>
  )
}

function AuthControl() {
  const { signedIn, openSignIn, signOut } = useAuth()
  return signedIn ? (
    <div className="auth">
      <span className="muted">Signed in</span>
      <button type="button" onClick={signOut}>
        Sign out
      </button>
    </div>
  ) : (
    <button type="button" onClick={() => openSignIn()}>
      Sign in
    </button>
  )
}

export function Layout({ children }: { children: ReactNode }) {
  const { pathname } = useLocation()
  const main = useRef<HTMLElement>(null)
  const first = useRef(true)

  // A new page: move focus to it, as a page load would (not on the first load, nor on query changes).
  useEffect(() => {
    void pathname
    if (first.current) {
      first.current = false
      return
    }
    main.current?.focus({ preventScroll: true })
  }, [pathname])

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <Link to="/" className="brand">
          <svg className="brand-mark" viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
            <circle cx="16" cy="16" r="12" fill="none" stroke="currentColor" strokeWidth="4" />
            <path d="M1 16h30" stroke="currentColor" strokeWidth="4" />
          </svg>
          Plimsoll
        </Link>
        <MainNav />
        <div className="header-tools">
          <ThemeToggle />
          <AuthControl />
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {children}
      </main>
    </>
  )
}
