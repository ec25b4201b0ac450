/**
 * Inputs that used to abort a scan or be misread: JSON the second read could not read again, directory
 * walks that stopped at one bad entry, symbolic links, invalid UTF-8. Each case runs where the defect was
 * (the parser, the input expansion, the CLI in one thread and with workers), and the other inputs' findings
 * must survive it.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeText, expandInputs, readSource } from '../../src/resources/inputs.js'
import { attach, DEFAULT_LIMITS, parseSource } from '../../src/resources/parse.js'
import type { LoadError } from '../../src/resources/types.js'
import { BIN } from '../helpers/cli.js'

const tmp = mkdtempSync(join(tmpdir(), 'plimsoll-input-defects-'))
// Another user runs the CLI in the permission test; it must reach the files.
chmodSync(tmp, 0o755)

function file(name: string, content: string | Buffer): string {
  const p = join(tmp, name)
  mkdirSync(join(p, '..'), { recursive: true })
  writeFileSync(p, content)
  return p
}

const privilegedPod = (name: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  containers:
  - name: app
    image: nginx:1.27
    securityContext:
      privileged: true
`

interface Report {
  findings: { checkId: string; location: { file: string; line: number; column: number } }[]
  errors: LoadError[]
  summary: { resources: number }
}

/** The built CLI; `input` may be bytes. `as` is a command prefix to run it under (setpriv). */
function plimsoll(args: string[], options: { input?: Buffer; as?: string[] } = {}) {
  const command = [...(options.as ?? []), process.execPath, BIN, ...args]
  const r = spawnSync(command[0]!, command.slice(1), {
    input: options.input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function reportOf(r: ReturnType<typeof plimsoll>): Report {
  if (!r.stdout.startsWith('{')) throw new Error(`no JSON report; stderr: ${r.stderr.slice(0, 2000)}`)
  return JSON.parse(r.stdout) as Report
}

const privilegedAt = (report: Report, path: string) =>
  report.findings.filter((f) => f.checkId === 'pss-privileged' && f.location.file === path)

// --- issue 10, defect 4: JSON that the first read took and the re-read could not -------------------

/** A Pod in JSON with `metadata.name` twice; the second `name` is on line 6. */
const duplicateKeyJson = `{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {
    "name": "a",
    "name": "b"
  },
  "spec": {"containers": [{"name": "c", "image": "nginx"}]}
}
`

/** A Pod in JSON with a value nested `levels` sequences deep, on line 6. */
const deepJson = (levels: number) => `{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {"name": "deep-${levels}"},
  "spec": {"containers": [{"name": "c", "image": "nginx"}],
    "x": ${'['.repeat(levels)}1${']'.repeat(levels)}}
}
`

describe('JSON the cross-resource re-read used to reject (defect 4)', () => {
  it('reports a JSON object with a duplicate key as a LoadError at the key, as YAML already was', () => {
    const { resources, errors } = parseSource('dup.json', duplicateKeyJson)
    expect(resources).toEqual([])
    expect(errors).toEqual([
      {
        file: 'dup.json',
        documentIndex: 0,
        position: { line: 6, column: expect.any(Number) },
        message: expect.stringMatching(/^invalid JSON: duplicated mapping key/),
      },
    ])
  })

  it.each([150, 3000, 100_000])('reports JSON nested %i levels deep as a LoadError at its line', (levels) => {
    const { resources, errors } = parseSource('deep.json', deepJson(levels))
    expect(resources).toEqual([])
    expect(errors).toEqual([
      {
        file: 'deep.json',
        documentIndex: 0,
        position: { line: 6, column: expect.any(Number) },
        message: expect.stringMatching(/^invalid JSON: nesting exceeded maxDepth \(100\)/),
      },
    ])
  })

  it('takes the depth limit from ParseLimits', () => {
    const deeper = { ...DEFAULT_LIMITS, maxDepth: 200 }
    expect(parseSource('deep.json', deepJson(150), deeper).resources).toHaveLength(1)
    expect(parseSource('deep.yaml', `---\n${deepJson(150)}`, deeper).resources).toHaveLength(1)
    expect(parseSource('deep.yaml', `---\n${deepJson(150)}`).errors[0]!.message).toMatch(/maxDepth/)
  })

  /** Objects nested around the depth limit, in every shape the readers count differently. */
  const nested = fc
    .array(fc.constantFrom('map', 'seq', 'map+sibling', 'seq+sibling'), { minLength: 90, maxLength: 102 })
    .chain((shape) =>
      fc.constantFrom<unknown>(1, 'x', null, {}, [], { k: true }).map((leaf) => {
        let value = leaf
        for (const level of [...shape].reverse()) {
          const sibling = level.endsWith('+sibling')
          value = level.startsWith('map')
            ? { ...(sibling ? { s: 2 } : {}), v: value }
            : sibling
              ? [2, value]
              : [value]
        }
        return value
      }),
    )

  it('agrees with the YAML reader at the depth limit, and reads every JSON document again as it read it', () => {
    fc.assert(
      fc.property(nested, fc.boolean(), (value, pretty) => {
        const json = JSON.stringify(
          { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { value } },
          null,
          pretty ? 1 : undefined,
        )
        const asJson = parseSource('p.json', json)
        // the same text as a YAML stream (it does not start with `{`), which js-yaml reads
        const asYaml = parseSource('p.yaml', `---\n${json}`)
        expect(asJson.resources.length).toBe(asYaml.resources.length)
        expect(asJson.errors.length).toBe(asYaml.errors.length)
        for (const r of [...asJson.resources, ...asYaml.resources]) {
          const again = attach(r.detach())
          expect(again.object).toEqual(r.object)
          expect(again.locate(['spec', 'value'])).toEqual(r.locate(['spec', 'value']))
        }
      }),
      { numRuns: 200 },
    )
  })

  const good = file('json/good.yaml', privilegedPod('good'))
  const badJson = [
    file('json/dup.json', duplicateKeyJson),
    file('json/deep-150.json', deepJson(150)),
    file('json/deep-3000.json', deepJson(3000)),
  ]

  const expectSurvivors = (report: Report) => {
    expect(privilegedAt(report, good)).toEqual([
      expect.objectContaining({ location: expect.objectContaining({ file: good, line: 9, column: 7 }) }),
    ])
    expect(report.errors).toEqual(
      badJson.map((f) => ({
        file: f,
        documentIndex: 0,
        position: { line: 6, column: expect.any(Number) },
        message: expect.stringMatching(/^invalid JSON: /),
      })),
    )
  }

  it('keeps the other files’ findings in one thread (-j 1)', () => {
    const r = plimsoll(['scan', ...badJson, good, '--format', 'json', '--fail-on', 'none', '-j', '1'])
    expectSurvivors(reportOf(r))
    expect(r.code).toBe(2)
  })

  it('keeps the other files’ findings with worker threads (-j 2, input over the worker threshold)', () => {
    // Comments weigh in the size that decides on workers and cost nothing to parse.
    const padding = file('json/padding.yaml', `# padding\n`.repeat(500_000))
    const r = plimsoll(
      ['scan', ...badJson, good, padding, '--format', 'json', '--fail-on', 'none', '-j', '2'],
      {},
    )
    expectSurvivors(reportOf(r))
    expect(r.code).toBe(2)
  })
})

// --- issue 10, defect 6: directory walks, symbolic links, globs ------------------------------------

/**
 * Runs a command without the capabilities that let root read a mode-000 directory (undefined if we
 * cannot). Still root, so the checkout is read as its owner reads it, wherever it lies: a `nobody` could
 * not reach one under a private directory (mktemp's are 0700).
 */
const withoutOverride: string[] | undefined =
  process.getuid?.() !== 0
    ? []
    : existsSync('/usr/bin/setpriv')
      ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search']
      : undefined

describe('directory walks and symbolic links (defect 6)', () => {
  it.skipIf(withoutOverride === undefined)(
    'reports an unreadable subdirectory as an input error and scans the rest',
    () => {
      const a = file('walk/a.yaml', privilegedPod('a'))
      const c = file('walk/z/c.yaml', privilegedPod('c'))
      file('walk/locked/b.yaml', privilegedPod('b'))
      const locked = join(tmp, 'walk', 'locked')
      chmodSync(locked, 0o000)
      try {
        const r = plimsoll(['scan', join(tmp, 'walk'), '--format', 'json', '--fail-on', 'none'], {
          as: withoutOverride!,
        })
        const report = reportOf(r)
        expect(report.errors).toEqual([
          {
            file: locked,
            message: expect.stringMatching(/^cannot read directory: permission denied \(EACCES\)/),
          },
        ])
        expect(privilegedAt(report, a)).toHaveLength(1)
        expect(privilegedAt(report, c)).toHaveLength(1)
        expect(r.code).toBe(2)
      } finally {
        chmodSync(locked, 0o755)
      }
    },
  )

  it('says a symbolic link loop named on the command line is one', async () => {
    symlinkSync(join(tmp, 'loop-b'), join(tmp, 'loop-a'))
    symlinkSync(join(tmp, 'loop-a'), join(tmp, 'loop-b'))
    symlinkSync(join(tmp, 'nowhere.yaml'), join(tmp, 'dangling.yaml'))
    const { files, errors } = await expandInputs([join(tmp, 'loop-a'), join(tmp, 'dangling.yaml')])
    expect(files).toEqual([])
    expect(errors).toEqual([
      { file: join(tmp, 'loop-a'), message: 'symbolic link loop (too many levels of symbolic links)' },
      { file: join(tmp, 'dangling.yaml'), message: 'broken symbolic link: its target does not exist' },
    ])
  })

  it('follows symbolic links in a walk: a file is read, a directory walked once, a loop not followed', async () => {
    const tree = join(tmp, 'tree')
    file('tree/real.yaml', privilegedPod('real'))
    file('outside/x.yaml', privilegedPod('x'))
    file('outside-dir/y.yaml', privilegedPod('y'))
    symlinkSync(join(tmp, 'outside', 'x.yaml'), join(tree, 'file-link.yaml'))
    symlinkSync(join(tmp, 'outside-dir'), join(tree, 'dir-link'))
    symlinkSync(join(tmp, 'outside-dir'), join(tree, 'dir-link-again'))
    file('tree/deeper/d.yaml', privilegedPod('d'))
    symlinkSync('.', join(tree, 'loop'))
    symlinkSync('..', join(tree, 'deeper', 'up'))
    symlinkSync(join(tree, 'missing.yaml'), join(tree, 'dangling.yaml'))
    symlinkSync(join(tree, 'missing.txt'), join(tree, 'dangling.txt'))
    const { files, errors } = await expandInputs([tree])
    expect(files).toEqual([
      join(tree, 'deeper', 'd.yaml'),
      join(tree, 'dir-link', 'y.yaml'),
      join(tree, 'file-link.yaml'),
      join(tree, 'real.yaml'),
    ])
    expect(errors).toEqual([
      { file: join(tree, 'dangling.yaml'), message: 'broken symbolic link: its target does not exist' },
    ])
  })

  it('scans a file once when a glob or another input reaches it again through a symbolic link', async () => {
    file('globbed/real/a.yaml', privilegedPod('a'))
    symlinkSync(join(tmp, 'globbed', 'real'), join(tmp, 'globbed', 'link'))
    const viaGlob = await expandInputs([`${join(tmp, 'globbed')}/*/a.yaml`])
    // (tinyglobby answers an absolute pattern with paths relative to the working directory)
    expect(viaGlob.files).toEqual([relative(process.cwd(), join(tmp, 'globbed', 'link', 'a.yaml'))])
    const viaBoth = await expandInputs([join(tmp, 'globbed', 'real'), join(tmp, 'globbed', 'link', 'a.yaml')])
    expect(viaBoth.files).toEqual([join(tmp, 'globbed', 'real', 'a.yaml')])
    // named by the user under another name: still explicit, so a non-Kubernetes file is not skipped silently
    expect([...viaBoth.explicit]).toEqual([join(tmp, 'globbed', 'real', 'a.yaml')])
  })
})

// --- issue 10, defect 7: invalid UTF-8 -------------------------------------------------------------

const utf8 = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))))

const pod = (name: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers: []\n`

/** A valid Pod, a ConfigMap holding `bad` bytes at line 13 column 9 (after `padding`), a valid Pod. */
const withBadBytes = (bad: number[], padding = '') =>
  utf8(
    pod('a'),
    `---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  k: caf`,
    bad,
    ` ok\n${padding}---\n`,
    pod('c'),
  )

async function parseBytes(name: string, bytes: Buffer) {
  return parseSource(name, await readSource(file(name, bytes)))
}

describe('invalid UTF-8, decided per document (defect 7)', () => {
  it('reports the document holding an invalid byte, with line and column, and reads the others', async () => {
    const { resources, errors } = await parseBytes('utf8/early.yaml', withBadBytes([0xc3, 0x28]))
    expect(resources.map((r) => r.name)).toEqual(['a', 'c'])
    expect(errors).toEqual([
      {
        file: 'utf8/early.yaml',
        documentIndex: 1,
        position: { line: 13, column: 9 },
        message: 'invalid UTF-8 (byte 0xC3) at line 13, column 9: expected UTF-8 text',
      },
    ])
  })

  it('finds invalid bytes past the first 8 KiB, which used to become U+FFFD silently', async () => {
    const padding = `  filler: "${'x'.repeat(10_000)}"\n`
    const { resources, errors } = await parseBytes('utf8/late.yaml', withBadBytes([0xff], padding))
    expect(resources.map((r) => r.name)).toEqual(['a', 'c'])
    expect(errors).toMatchObject([{ documentIndex: 1, position: { line: 13, column: 9 } }])
    expect(errors[0]!.message).toBe('invalid UTF-8 (byte 0xFF) at line 13, column 9: expected UTF-8 text')
  })

  it('names every byte of a truncated sequence', async () => {
    const { errors } = await parseBytes('utf8/truncated.yaml', withBadBytes([0xe2, 0x82]))
    expect(errors[0]!.message).toBe(
      'invalid UTF-8 (bytes 0xE2 0x82) at line 13, column 9: expected UTF-8 text',
    )
  })

  it('reads a real U+FFFD (EF BF BD) as the text it is', async () => {
    const { resources, errors } = await parseBytes('utf8/fffd.yaml', withBadBytes([0xef, 0xbf, 0xbd]))
    expect(errors).toEqual([])
    expect(resources.map((r) => r.name)).toEqual(['a', 'bad', 'c'])
    expect((resources[1]!.object.data as Record<string, string>).k).toBe('caf\uFFFD ok')
  })

  it('reports a JSON file holding an invalid byte at the byte', async () => {
    const json = utf8('{"apiVersion": "v1", "kind": "Pod",\n "metadata": {"name": "j', [0xc0, 0xaf], '"}}\n')
    const { resources, errors } = await parseBytes('utf8/bad.json', json)
    expect(resources).toEqual([])
    expect(errors).toEqual([
      {
        file: 'utf8/bad.json',
        documentIndex: 0,
        position: { line: 2, column: 25 },
        message: 'invalid UTF-8 (bytes 0xC0 0xAF) at line 2, column 25: expected UTF-8 text',
      },
    ])
  })

  it('reports invalid bytes outside every document (in a comment) against the file', async () => {
    const { resources, errors } = await parseBytes(
      'utf8/comment.yaml',
      utf8('# caf', [0xe9], '\n---\n', pod('a')),
    )
    expect(resources.map((r) => r.name)).toEqual(['a'])
    expect(errors).toEqual([
      {
        file: 'utf8/comment.yaml',
        position: { line: 1, column: 6 },
        message: 'invalid UTF-8 (byte 0xE9) at line 1, column 6: expected UTF-8 text',
      },
    ])
  })

  it('still calls a file with a NUL byte in its first 8 KiB binary, as a whole', async () => {
    const { resources, errors } = await parseBytes('utf8/nul.yaml', utf8(pod('a'), [0, 1, 2]))
    expect(resources).toEqual([])
    expect(errors).toEqual([{ file: 'utf8/nul.yaml', message: 'binary file: expected YAML or JSON text' }])
  })

  it('treats stdin document by document too', () => {
    const input = utf8(
      privilegedPod('from-stdin'),
      '---\napiVersion: v1\nkind: Pod\nmetadata: {name: b',
      [0xa0],
      '}\n',
    )
    const report = reportOf(plimsoll(['scan', '-', '--format', 'json', '--fail-on', 'none'], { input }))
    expect(privilegedAt(report, '<stdin>')).toHaveLength(1)
    expect(report.errors).toEqual([
      {
        file: '<stdin>',
        documentIndex: 1,
        position: { line: 13, column: 19 },
        message: 'invalid UTF-8 (byte 0xA0) at line 13, column 19: expected UTF-8 text',
      },
    ])
  })

  it('decodes like TextDecoder, except that each invalid byte is kept apart so it can be found', () => {
    const chunk = fc.oneof(
      fc.string({ unit: 'binary' }).map((s) => [...Buffer.from(s)]),
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }),
      fc.constantFrom(
        [0xef, 0xbf, 0xbd],
        [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
        [0xe0, 0x80],
        [0xf0, 0x9f],
      ),
    )
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 8 }), (chunks) => {
        const bytes = Buffer.from(chunks.flat())
        const text = decodeText(bytes)
        const escaped = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g
        // lossless: every escape is one original byte
        const back = Buffer.concat(
          text
            .split(/((?<![\uD800-\uDBFF])[\uDC80-\uDCFF])/)
            .map((part, i) => (i % 2 === 1 ? Buffer.of(part.charCodeAt(0) - 0xdc00) : Buffer.from(part))),
        )
        expect(back.equals(bytes)).toBe(true)
        // and where the bytes are valid, the text is TextDecoder's
        const replaced = text.replace(escaped, '\uFFFD').replace(/\uFFFD+/g, '\uFFFD')
        expect(replaced).toBe(new TextDecoder().decode(bytes).replace(/\uFFFD+/g, '\uFFFD'))
      }),
      { numRuns: 500 },
    )
  })
})
