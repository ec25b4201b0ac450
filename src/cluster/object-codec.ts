/**
 * The watcher's objects as it keeps them between evaluations: their JSON, deflated against a
 * dictionary of their kind. Objects of a kind share most of their text (keys, images, labels,
 * defaults), so that the first of a kind, as a preset dictionary, makes the others a seventh of their
 * size: 62 MB of JSON for 50,000 objects kept as 9 MB. It costs a deflate when an object changes and
 * an inflate when it is evaluated again, some tens of microseconds each (bench/watch.mjs).
 */
import { deflateRawSync, inflateRawSync, type ZlibOptions } from 'node:zlib'

/**
 * A 4 KB window holds an ordinary object and the dictionary's end; a small window and hash table make
 * each call's setup, most of its cost on a text this short, cheaper. Level 1: level 6 gained a tenth.
 */
const OPTIONS: ZlibOptions = { level: 1, windowBits: 12, memLevel: 5 }

export class ObjectCodec {
  /** per kind, the first text seen: kept for good, since every text of the kind needs it back */
  private readonly dictionaries = new Map<string, Buffer>()

  encode(kind: string, text: string): Buffer {
    let dictionary = this.dictionaries.get(kind)
    if (!dictionary) {
      dictionary = Buffer.from(text)
      this.dictionaries.set(kind, dictionary)
    }
    return deflateRawSync(text, { ...OPTIONS, dictionary })
  }

  decode(kind: string, data: Uint8Array): string {
    const dictionary = this.dictionaries.get(kind)
    if (!dictionary) throw new Error(`no dictionary for ${kind}: its objects were never encoded`)
    return inflateRawSync(data, { windowBits: OPTIONS.windowBits!, dictionary }).toString('utf8')
  }
}
