import { writeFileSync } from 'node:fs'
import { type Command, Option } from 'commander'
import { loadLibrary } from '../policy/library.js'
import { resourceLabel } from '../report/exception-warnings.js'
import { stepLines } from '../report/mutations.js'
import { plural } from '../report/plural.js'
import { expandInputs, readSource, STDIN } from '../resources/inputs.js'
import { DEFAULT_LIMITS } from '../resources/parse.js'
import type { LoadError } from '../resources/types.js'
import { mutateSource, type ResourceMutations } from '../scan/mutate.js'
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes.js'
import { collect } from './library-flags.js'

interface MutateFlags {
  policy: string[]
  output?: string
  onlyChanged?: boolean
}

export function registerMutate(program: Command): void {
  program
    .command('mutate')
    .summary('apply mutating policies to manifests and print the result')
    .description(
      'Apply the mutating policies given with --policy (Kyverno ClusterPolicy/Policy mutate rules, ' +
        'MutatingPolicy, MutatingAdmissionPolicy through its bindings) to Kubernetes manifests as admission ' +
        'would apply them to a CREATE, and print every document as YAML, in input order, separated by ---: ' +
        'to pipe into kubectl apply -f - or to commit to a GitOps repository. A document no policy changed ' +
        'is printed as written; one a policy changed is written anew, and its comments (but those before it) ' +
        'are lost. What changed, resource by resource, goes to stderr.',
    )
    .argument(
      '[inputs...]',
      'files, directories (searched recursively for .yaml, .yml, .json), globs, or - for stdin',
    )
    .addOption(
      new Option('-p, --policy <path>', 'a policy file or a directory of them (repeatable)')
        .argParser(collect)
        .default([], 'none'),
    )
    .option('-o, --output <file>', 'write the manifests to a file instead of stdout')
    .option('--only-changed', 'print only the documents a policy changed')
    .addHelpText(
      'after',
      `
Examples:
  $ plimsoll mutate k8s/ --policy kyverno-policies/ | kubectl apply -f -
  $ helm template ./chart | plimsoll mutate - -p policies/ -o rendered.yaml
  $ plimsoll mutate deploy.yaml -p add-defaults.yaml --only-changed

Exit codes: 0 every document written; 1 a policy failed on a resource (written as the other
policies left it, the failure on stderr); 2 usage error, unreadable or invalid input, or a policy
that could not be loaded (the other documents are still written).`,
    )
    .action(async (inputs: string[], flags: MutateFlags) => {
      process.exitCode = await runMutate(inputs, flags)
    })
}

function where(e: LoadError): string {
  return e.position ? `${e.file}:${e.position.line}` : e.file
}

/** The summary of one resource's changes, for stderr. */
function changeSummary(m: ResourceMutations): string[] {
  const head = `${m.location.file}:${m.location.line}: ${resourceLabel(m.resource)}`
  return [head, ...m.mutations.flatMap((step) => stepLines(step, '  '))]
}

async function runMutate(inputs: string[], flags: MutateFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`plimsoll: ${line}\n`)
  if (inputs.length === 0) {
    say('nothing to mutate: give files, directories, globs or -')
    return EXIT_USAGE
  }
  if (flags.policy.length === 0) {
    say('give the mutating policies with --policy')
    return EXIT_USAGE
  }
  let library: ReturnType<typeof loadLibrary>
  try {
    library = loadLibrary({ builtin: false, policies: flags.policy })
  } catch (err) {
    say(`cannot load policies: ${(err as Error).message}`)
    return EXIT_USAGE
  }
  const { mutator } = library
  if (!mutator) {
    say(
      `no mutating policy (mutate rule, MutatingPolicy, MutatingAdmissionPolicy) in ${flags.policy.join(', ')}`,
    )
    return EXIT_USAGE
  }
  for (const warning of library.policyWarnings) say(`warning: ${warning}`)
  const errors: LoadError[] = [...library.policyErrors]
  const expanded = await expandInputs(inputs)
  errors.push(...expanded.errors)
  const documents: string[] = []
  let resources = 0
  let changed = 0
  let failed = 0
  for (const file of expanded.files) {
    let text: string
    try {
      text = await readSource(file)
    } catch (err) {
      errors.push({ file, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}` })
      continue
    }
    const result = mutateSource(mutator, file === STDIN ? '<stdin>' : file, text, DEFAULT_LIMITS)
    // As a scan does: a file a walk found that holds no Kubernetes object is no input error.
    if (result.notKubernetes && !expanded.explicit.has(file)) continue
    errors.push(...result.errors)
    resources += result.resources
    for (const doc of result.documents) {
      for (const m of doc.mutations) {
        for (const line of changeSummary(m)) process.stderr.write(`${line}\n`)
        if (m.mutations.some((s) => s.patch.length > 0)) changed++
        if (m.mutations.some((s) => s.status === 'error')) failed++
      }
      if (doc.changed || !flags.onlyChanged) documents.push(doc.text)
    }
  }
  for (const e of errors) say(`${where(e)}: ${e.message}`)
  say(
    `mutated ${changed} of ${plural(resources, 'resource')}` +
      (failed > 0 ? `, ${plural(failed, 'resource')} a policy failed on` : '') +
      (errors.length > 0 ? `, ${plural(errors.length, 'input error')}` : ''),
  )
  const body = documents.join('---\n')
  if (flags.output) {
    try {
      writeFileSync(flags.output, body)
    } catch (err) {
      say(`cannot write ${flags.output}: ${(err as Error).message}`)
      return EXIT_USAGE
    }
  } else process.stdout.write(body)
  if (errors.length > 0) return EXIT_USAGE
  return failed > 0 ? EXIT_FINDINGS : EXIT_OK
}
