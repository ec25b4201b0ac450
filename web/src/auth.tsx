/**
 * Who the dashboard speaks as: anonymous (when the server lets anyone read) or a bearer token kept in
 * sessionStorage. A 401 from anywhere opens the sign-in dialog; signing in or out reloads what is shown.
 */
import {
  createContext,
  type FormEvent,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useId,
  useMemo,
  useState,
} from 'react'
import { getToken, setToken, UNAUTHORIZED_EVENT, verifyToken } from './api'
import { Dialog, DialogActions } from './components/Dialog'

interface Auth {
  signedIn: boolean
  /** changes whenever the token does: data hooks fetch again */
  version: number
  openSignIn: (reason?: string) => void
  signOut: () => void
}

const AuthContext = createContext<Auth>({
  signedIn: false,
  version: 0,
  openSignIn: () => {},
  signOut: () => {},
})

export const useAuth = () => useContext(AuthContext)

export function AuthProvider({ children }: { children: ReactNode }) {
  const [signedIn, setSignedIn] = useState(() => getToken() !== null)
  const [version, setVersion] = useState(0)
  const [dialog, setDialog] = useState<{ reason?: string } | null>(null)

  const openSignIn = useCallback((reason?: string) => setDialog(reason ? { reason } : {}), [])
  const signOut = useCallback(() => {
    setToken(null)
    setSignedIn(false)
    setVersion((v) => v + 1)
  }, [])
  const signedInWith = useCallback((token: string) => {
    setToken(token)
    setSignedIn(true)
    setDialog(null)
    setVersion((v) => v + 1)
  }, [])

  useEffect(() => {
    const onUnauthorized = () =>
      setDialog({
        reason: getToken()
          ? 'The server did not accept your token. Sign in with another one.'
          : 'The server needs a token to show this.',
      })
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized)
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized)
  }, [])

  const value = useMemo(
    () => ({ signedIn, version, openSignIn, signOut }),
    [signedIn, version, openSignIn, signOut],
  )
  return (
    <AuthContext.Provider value={value}>
      {children}
      <Dialog open={dialog !== null} title="Sign in" onClose={() => setDialog(null)}>
        <SignInForm reason={dialog?.reason} onSignedIn={signedInWith} onCancel={() => setDialog(null)} />
      </Dialog>
    </AuthContext.Provider>
  )
}

interface SignInFormProps {
  reason: string | undefined
  onSignedIn: (token: string) => void
  onCancel: () => void
}

function SignInForm({ reason, onSignedIn, onCancel }: SignInFormProps) {
  const [token, setTokenText] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const errorId = useId()
  const hintId = useId()

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const t = token.trim()
    if (!t) {
      setError('Enter a token.')
      return
    }
    setBusy(true)
    const problem = await verifyToken(t)
    setBusy(false)
    if (problem) setError(problem)
    else onSignedIn(t)
  }

  return (
    <form onSubmit={submit} noValidate>
      {reason && <p className="notice">{reason}</p>}
      <div className="field">
        <label htmlFor="sign-in-token">Token</label>
        <input
          id="sign-in-token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(e) => setTokenText(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${errorId} ${hintId}` : hintId}
          data-autofocus
        />
        <p id={hintId} className="hint">
          A token from <code>plimsoll token create</code> (kept for this browser tab only).
        </p>
        {error && (
          <p id={errorId} className="field-error">
            {error}
          </p>
        )}
      </div>
      <DialogActions label="Sign in" busy={busy} onCancel={onCancel} />
    </form>
  )
}
