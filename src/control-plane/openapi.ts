/**
 * Minimal OpenAPI documents: enough for kubectl to find that the server publishes them, not a
 * schema. /openapi/v2 answers JSON, or the protobuf form (gnostic's OpenAPIv2 Document: swagger,
 * info{title, version}, empty paths) that kubectl 1.20's client-side validation asks for; with no
 * definitions it finds no schema for a kind and skips validation, as it does for unknown kinds.
 * /openapi/v3 lists no group/version documents, so kubectl 1.32 falls back the same way.
 */

function varint(n: number): number[] {
  const out: number[] = []
  let v = n
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80)
    v >>>= 7
  }
  out.push(v)
  return out
}

function field(num: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(num << 3) | 2, ...varint(payload.length)]), payload])
}

export const OPENAPI_V2_PROTOBUF: Buffer = Buffer.concat([
  field(1, Buffer.from('2.0')),
  field(2, Buffer.concat([field(1, Buffer.from('Kubernetes')), field(2, Buffer.from('v1.32.13'))])),
  field(8, Buffer.alloc(0)),
])

export const OPENAPI_V2_JSON = JSON.stringify({
  swagger: '2.0',
  info: { title: 'Kubernetes', version: 'v1.32.13' },
  paths: {},
  definitions: {},
})

export const OPENAPI_V3_ROOT = JSON.stringify({ paths: {} })

export function wantsProtobuf(accept: string | undefined): boolean {
  return /protobuf/.test(accept ?? '') && !/application\/json/.test(accept ?? '')
}
