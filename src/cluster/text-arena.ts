/** Where a text is kept in a TextArena; the arena moves it when it compacts a slab. */
export class TextRef {
  constructor(
    public slab: Slab,
    public offset: number,
    readonly bytes: number,
  ) {}
}

interface Slab {
  readonly buffer: Buffer
  /** bytes written, live or not */
  used: number
  /** bytes of the texts still kept */
  live: number
  readonly refs: Set<TextRef>
}

/**
 * Texts kept outside V8's heap, as UTF-8 (or compressed: object-codec.ts) in slabs of a megabyte: the
 * watcher's objects as JSON and their findings. In the heap they made most of what it holds, and V8 lets its heap grow in
 * proportion to that (and fragments it), where these slabs are exactly what they hold. A slab less
 * than half alive is compacted into the current one, so churn leaves no more than that behind.
 */
export class TextArena {
  private readonly slabs = new Set<Slab>()
  private current: Slab

  constructor(private readonly slabBytes = 1 << 20) {
    this.current = this.slab(slabBytes)
  }

  /** Bytes the slabs take. */
  get bytes(): number {
    let n = 0
    for (const slab of this.slabs) n += slab.buffer.length
    return n
  }

  put(text: string): TextRef {
    const bytes = Buffer.byteLength(text)
    const slab = this.room(bytes)
    slab.buffer.write(text, slab.used)
    return this.place(slab, bytes)
  }

  /** Keeps bytes as they are (a compressed text: object-codec.ts). */
  putBytes(data: Uint8Array): TextRef {
    const slab = this.room(data.length)
    slab.buffer.set(data, slab.used)
    return this.place(slab, data.length)
  }

  get(ref: TextRef): string {
    return ref.slab.buffer.toString('utf8', ref.offset, ref.offset + ref.bytes)
  }

  /** The bytes kept, in place: to be read at once, before the arena next changes. */
  view(ref: TextRef): Buffer {
    return ref.slab.buffer.subarray(ref.offset, ref.offset + ref.bytes)
  }

  equals(ref: TextRef, text: string): boolean {
    return ref.bytes === Buffer.byteLength(text) && this.get(ref) === text
  }

  equalBytes(ref: TextRef, data: Uint8Array): boolean {
    return ref.bytes === data.length && this.view(ref).equals(data)
  }

  free(ref: TextRef): void {
    const { slab } = ref
    if (!slab.refs.delete(ref)) return
    slab.live -= ref.bytes
    if (slab === this.current) return
    if (slab.live === 0) this.slabs.delete(slab)
    else if (slab.live < slab.used / 2) this.compact(slab)
  }

  /** The slab a text of this size goes to: the current one, a new current one, or one of its own. */
  private room(bytes: number): Slab {
    if (bytes > this.slabBytes / 4) return this.slab(bytes)
    if (this.current.used + bytes > this.current.buffer.length) {
      const full = this.current
      this.current = this.slab(this.slabBytes)
      if (full.live < full.used / 2) this.compact(full)
    }
    return this.current
  }

  private slab(size: number): Slab {
    const slab: Slab = { buffer: Buffer.allocUnsafeSlow(size), used: 0, live: 0, refs: new Set() }
    this.slabs.add(slab)
    return slab
  }

  private place(slab: Slab, bytes: number): TextRef {
    const ref = new TextRef(slab, slab.used, bytes)
    slab.used += bytes
    slab.live += bytes
    slab.refs.add(ref)
    return ref
  }

  private compact(slab: Slab): void {
    this.slabs.delete(slab)
    for (const ref of slab.refs) {
      const to = this.room(ref.bytes)
      slab.buffer.copy(to.buffer, to.used, ref.offset, ref.offset + ref.bytes)
      ref.slab = to
      ref.offset = to.used
      to.used += ref.bytes
      to.live += ref.bytes
      to.refs.add(ref)
    }
  }
}
