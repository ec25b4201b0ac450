/** Documented in docs/cli.md; CI gates rely on them, so they never change meaning. */
export const EXIT_OK = 0
/** Findings at or above the --fail-on severity. */
export const EXIT_FINDINGS = 1
/** Usage errors, unreadable or invalid input, broken checks. Takes precedence over EXIT_FINDINGS. */
export const EXIT_USAGE = 2
