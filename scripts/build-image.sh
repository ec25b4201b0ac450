#!/usr/bin/env bash
# Builds Plimsoll's image from the Dockerfile with buildah, on a machine where no container registry
# is reachable: the two bases the Dockerfile takes as build arguments are made here from Debian
# packages (deploy/image/bases.sh) and kept in buildah's storage for the next build. Elsewhere,
# `docker build .` builds the same Dockerfile over public bases.
#
#   scripts/build-image.sh [--tag IMAGE] [--oci-archive FILE]
#
# --tag defaults to ghcr.io/plimsoll/plimsoll:<package version>, the image `plimsoll install`
# writes into its Deployments. --oci-archive also writes the image to FILE (for `podman load`,
# `skopeo copy`, `ctr import`...). The bases are named after the Node version they carry: a new Node
# makes new bases; `buildah rmi` them to take newer Debian packages. Build stages are cached
# (`--layers`): dependencies are installed again only when package-lock.json changes. npm's cache on
# this machine is lent to the build so packages are not downloaded again. Prints the image's ID last.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

fail() {
  echo "scripts/build-image.sh: $*" >&2
  exit 1
}

version=$(node -p 'require("./package.json").version')
tag=ghcr.io/plimsoll/plimsoll:$version
archive=
while [ $# -gt 0 ]; do
  case "$1" in
  --tag) tag=${2:?--tag needs an image name}; shift 2 ;;
  --oci-archive) archive=${2:?--oci-archive needs a file}; shift 2 ;;
  *) fail "unknown argument $1 (expected --tag IMAGE or --oci-archive FILE)" ;;
  esac
done
command -v buildah >/dev/null || fail "buildah is not installed (apt-get install buildah)"

node_version=$(node --version)
runtime_base=localhost/plimsoll/base-runtime:node-$node_version
build_base=localhost/plimsoll/base-build:node-$node_version
ensure_base() {
  local kind=$1 image=$2
  if ! buildah inspect --type image "$image" >/dev/null 2>&1; then
    echo "making the $kind base $image from Debian packages" >&2
    deploy/image/bases.sh "$kind" "$image" >/dev/null
  fi
}
ensure_base runtime "$runtime_base"
ensure_base build "$build_base"

npm_cache=$(npm config get cache)
mkdir -p "$npm_cache"
# chroot isolation: no OCI runtime (runc, crun) is needed, and it works inside a container.
buildah bud \
  --isolation chroot \
  --layers \
  --pull=never \
  --build-arg "BUILD_IMAGE=$build_base" \
  --build-arg "RUNTIME_IMAGE=$runtime_base" \
  --label "org.opencontainers.image.version=$version" \
  --volume "$npm_cache:/root/.npm" \
  --file Dockerfile \
  --tag "$tag" \
  . >&2

if [ -n "$archive" ]; then
  rm -f "$archive"
  buildah push --quiet "$tag" "oci-archive:$archive:$tag" >&2
fi
buildah inspect --type image --format '{{.FromImageID}}' "$tag"
