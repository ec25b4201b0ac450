/**
 * An alert's identity: Alertmanager's label-set fingerprint, FNV-1a 64 over the label names and values
 * sorted by name, each followed by the byte 0xff. The same labels give the same 16 hex digits that
 * Alertmanager shows for the alert, so an alert can be followed from Plimsoll into Alertmanager.
 */
import type { Labels } from './matchers.js'

export function fingerprint(labels: Labels): string {
  // 64-bit FNV-1a in four 16-bit limbs (JavaScript numbers are exact to 53 bits).
  let h0 = 0x2325
  let h1 = 0x8422
  let h2 = 0x9ce4
  let h3 = 0xcbf2
  const feed = (b: number) => {
    h0 ^= b
    const t0 = h0 * 0x1b3
    let t1 = h1 * 0x1b3
    let t2 = h2 * 0x1b3 + (h0 << 8)
    const t3 = h3 * 0x1b3 + (h1 << 8)
    t1 += t0 >>> 16
    h0 = t0 & 0xffff
    t2 += t1 >>> 16
    h1 = t1 & 0xffff
    h3 = (t3 + (t2 >>> 16)) & 0xffff
    h2 = t2 & 0xffff
  }
  for (const name of Object.keys(labels).sort()) {
    for (const b of Buffer.from(name, 'utf8')) feed(b)
    feed(0xff)
    for (const b of Buffer.from(labels[name]!, 'utf8')) feed(b)
    feed(0xff)
  }
  const hex = (n: number) => n.toString(16).padStart(4, '0')
  return hex(h3) + hex(h2) + hex(h1) + hex(h0)
}
