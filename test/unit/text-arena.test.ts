/**
 * The watcher's TextArena: texts kept outside V8's heap come back exactly as put, however they churn,
 * and the slabs stay in proportion to what is still kept.
 */
import { describe, expect, it } from 'vitest'
import { TextArena, type TextRef } from '../../src/cluster/text-arena.js'

/** A deterministic generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed
  return () => {
    s = Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5
    return ((s >>> 0) % 1_000_000) / 1_000_000
  }
}

describe('TextArena', () => {
  it('gives back each text as put, multi-byte characters included, and compares without copying out', () => {
    const arena = new TextArena(1024)
    const texts = ['', 'plain', 'ünïcødé ✓ 日本語', '{"a":[1,2,3]}', 'x'.repeat(600)]
    const refs = texts.map((t) => arena.put(t))
    expect(refs.map((ref) => arena.get(ref))).toEqual(texts)
    expect(arena.equals(refs[2]!, 'ünïcødé ✓ 日本語')).toBe(true)
    expect(arena.equals(refs[2]!, 'unicode ✓ 日本語')).toBe(false)
    expect(arena.equals(refs[1]!, 'plain ')).toBe(false)
  })

  it('keeps a text larger than a quarter slab in a slab of its own, given back when it is freed', () => {
    const arena = new TextArena(1024)
    arena.put('small')
    const before = arena.bytes
    const big = arena.put('y'.repeat(5000))
    expect(arena.bytes).toBe(before + 5000)
    expect(arena.get(big)).toBe('y'.repeat(5000))
    arena.free(big)
    expect(arena.bytes).toBe(before)
  })

  it('survives churn: every kept text intact, and the slabs bounded by what is kept', () => {
    const slabBytes = 4096
    const arena = new TextArena(slabBytes)
    const next = random(7)
    const kept = new Map<number, { ref: TextRef; text: string }>()
    let id = 0
    let peakRatio = 0
    for (let round = 0; round < 20_000; round++) {
      if (kept.size > 0 && next() < 0.5) {
        const keys = [...kept.keys()]
        const victim = keys[Math.floor(next() * keys.length)]!
        arena.free(kept.get(victim)!.ref)
        kept.delete(victim)
      } else {
        const text = `${id}:${'é'.repeat(Math.floor(next() * 300))}`
        kept.set(id++, { ref: arena.put(text), text })
      }
      if (round % 1000 === 999) {
        for (const { ref, text } of kept.values()) expect(arena.get(ref)).toBe(text)
        const live = [...kept.values()].reduce((n, { text }) => n + Buffer.byteLength(text), 0)
        peakRatio = Math.max(peakRatio, (arena.bytes - 2 * slabBytes) / live)
      }
    }
    // Each slab but the current one is at least half alive and at most a quarter slab short of full.
    expect(peakRatio).toBeLessThan(3)
    // Freeing everything leaves only the current slab.
    for (const { ref } of kept.values()) arena.free(ref)
    expect(arena.bytes).toBeLessThanOrEqual(slabBytes)
  })

  it('ignores a second free of the same text', () => {
    const arena = new TextArena(1024)
    const a = arena.put('a'.repeat(100))
    const b = arena.put('b'.repeat(100))
    arena.free(a)
    arena.free(a)
    expect(arena.get(b)).toBe('b'.repeat(100))
  })
})
