/**
 * A modal dialog on the native <dialog>: focus moves in and is kept there, Escape closes it, and focus
 * goes back to where it was. Its content is mounted only while it is open (a form starts afresh). The
 * element marked `data-autofocus` (else the first field) takes focus when it opens.
 */
import { type ReactNode, useEffect, useId, useRef } from 'react'

interface DialogProps {
  open: boolean
  title: string
  onClose: () => void
  children: ReactNode
  /** for tests, when a page holds more than one dialog with the same title */
  testId?: string
}

export function Dialog({ open, title, onClose, children, testId }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const opener = useRef<Element | null>(null)

  useEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    if (open && !dialog.open) {
      opener.current = document.activeElement
      dialog.showModal()
      // The field the dialog is for, else its first field, rather than the close button.
      const first =
        dialog.querySelector<HTMLElement>('[data-autofocus]') ??
        dialog.querySelector('input, select, textarea')
      if (first instanceof HTMLElement) first.focus()
    } else if (!open && dialog.open) {
      dialog.close()
    }
  }, [open])

  useEffect(() => {
    if (open) return
    const el = opener.current
    opener.current = null
    if (el instanceof HTMLElement && el.isConnected) el.focus()
  }, [open])

  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={onClose} className="dialog" data-testid={testId}>
      {open && (
        <>
          <div className="dialog-head">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="icon-button" onClick={onClose} aria-label="Close">
              ×
            </button>
          </div>
          {children}
        </>
      )}
    </dialog>
  )
}

interface DialogActionsProps {
  /** the action's button: it submits the form the buttons are in, or calls `onConfirm` */
  label: string
  onConfirm?: () => void
  /** a destructive action (Delete) */
  danger?: boolean
  /** while the action runs: its button is disabled */
  busy: boolean
  onCancel: () => void
  /** Cancel takes focus when the dialog opens (before a destructive action) */
  focusCancel?: boolean
}

/** A dialog's buttons: its action, then Cancel. */
export function DialogActions({ label, onConfirm, danger, busy, onCancel, focusCancel }: DialogActionsProps) {
  return (
    <div className="actions">
      <button
        type={onConfirm ? 'button' : 'submit'}
        className={danger ? 'danger' : 'primary'}
        onClick={onConfirm}
        disabled={busy}
      >
        {label}
      </button>
      <button type="button" onClick={onCancel} data-autofocus={focusCancel || undefined}>
        Cancel
      </button>
    </div>
  )
}
