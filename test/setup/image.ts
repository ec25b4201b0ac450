/**
 * The tools test/e2e/image.test.ts needs to build Plimsoll's container image from the Dockerfile
 * (scripts/build-image.sh: buildah over bases made from Debian packages with debootstrap and
 * dpkg) and to run it (podman, with runc): Debian's packages, installed with apt-get when missing.
 * Building needs root, as apt-get does.
 *
 * Only the tools, here: the build itself takes minutes when the sources changed, so the test file
 * builds the image in its own beforeAll, and a run that does not include it pays nothing. The image
 * is tagged `PLIMSOLL_TEST_IMAGE` (default localhost/plimsoll/plimsoll:test).
 */
import { spawnSync } from 'node:child_process'
import type { TestProject } from 'vitest/node'
import { aptInstall } from './apt.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** the tag test/e2e/image.test.ts builds the image under, in buildah's and podman's storage */
    imageName: string
  }
}

const IMAGE = process.env.PLIMSOLL_TEST_IMAGE || 'localhost/plimsoll/plimsoll:test'
const TOOLS = ['buildah', 'debootstrap', 'podman', 'runc']

const runs = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0

export async function setup(project: TestProject): Promise<void> {
  const missing = TOOLS.filter((tool) => !runs(tool))
  if (missing.length > 0) {
    await aptInstall(missing, `${missing.join(', ')} to build and run the container image`)
    const still = missing.filter((tool) => !runs(tool))
    if (still.length > 0) throw new Error(`apt-get installed ${still.join(', ')}, but it does not run`)
  }
  project.provide('imageName', IMAGE)
}
