export function health(): { ok: boolean } {
  return { ok: true }
}
