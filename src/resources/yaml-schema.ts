/**
 * The YAML schema the Kubernetes API server effectively uses: sigs.k8s.io/yaml decodes with go-yaml v2,
 * which resolves plain scalars by YAML 1.1 rules with Go's number parsing. Where js-yaml's YAML 1.1
 * schema differs from go-yaml v2 (timestamps and sexagesimal numbers stay strings, `!!binary` becomes
 * the decoded text, `1e3` is a float, `0o17` and `0b101` are integers), we follow the API server,
 * because a verdict must not depend on which parser read the file.
 */
import {
  boolYaml11Tag,
  defineScalarTag,
  mapTag,
  mergeTag,
  NOT_RESOLVED,
  nullYaml11Tag,
  Schema,
  seqTag,
  strTag,
} from 'js-yaml'

const GO_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/
const INT_FIRST = ['-', '+', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

/** Go's strconv.ParseInt(s, 0, 64) after go-yaml v2 strips underscores; NOT_RESOLVED when it would fail. */
function parseGoInt(source: string): number | typeof NOT_RESOLVED {
  const s = source.replaceAll('_', '')
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s)
  if (!m) return NOT_RESOLVED
  const sign = m[1] === '-' ? -1 : 1
  const digits = m[2]!
  let value: number
  if (/^0[xX]/.test(digits)) value = Number.parseInt(digits.slice(2), 16)
  else if (/^0[oO]/.test(digits)) value = Number.parseInt(digits.slice(2), 8)
  else if (/^0[bB]/.test(digits)) value = Number.parseInt(digits.slice(2), 2)
  else if (digits.length > 1 && digits.startsWith('0')) value = Number.parseInt(digits.slice(1), 8)
  else value = Number.parseInt(digits, 10)
  // Beyond int64 go-yaml falls through to float parsing; precision beyond 2^53 is lost either way in JSON.
  return sign * value
}

const goIntTag = defineScalarTag<number>('tag:yaml.org,2002:int', {
  implicit: true,
  implicitFirstChars: INT_FIRST,
  resolve: (source) => parseGoInt(source),
  identify: (data) => typeof data === 'number' && Number.isInteger(data),
})

const goFloatTag = defineScalarTag<number>('tag:yaml.org,2002:float', {
  implicit: true,
  implicitFirstChars: [...INT_FIRST, '.'],
  resolve: (source) => {
    switch (source) {
      case '.inf':
      case '.Inf':
      case '.INF':
      case '+.inf':
      case '+.Inf':
      case '+.INF':
        return Number.POSITIVE_INFINITY
      case '-.inf':
      case '-.Inf':
      case '-.INF':
        return Number.NEGATIVE_INFINITY
      case '.nan':
      case '.NaN':
      case '.NAN':
        return Number.NaN
    }
    const s = source.replaceAll('_', '')
    return GO_FLOAT.test(s) ? Number.parseFloat(s) : NOT_RESOLVED
  },
  identify: (data) => typeof data === 'number',
})

/** go-yaml v2 decodes `!!binary` into the decoded bytes as a Go string. */
const binaryAsTextTag = defineScalarTag<string>('tag:yaml.org,2002:binary', {
  resolve: (source) => Buffer.from(source.replace(/\s+/g, ''), 'base64').toString('utf8'),
  identify: () => false,
})

/** `!!timestamp` and any unknown explicit tag keep their text, as go-yaml v2 does for an interface{}. */
const timestampAsTextTag = defineScalarTag<string>('tag:yaml.org,2002:timestamp', {
  resolve: (source) => source,
  identify: () => false,
})

export const KUBERNETES_YAML_SCHEMA = new Schema([
  strTag,
  seqTag,
  mapTag,
  nullYaml11Tag,
  boolYaml11Tag,
  goIntTag,
  goFloatTag,
  mergeTag,
  binaryAsTextTag,
  timestampAsTextTag,
])
