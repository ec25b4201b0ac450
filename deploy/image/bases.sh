#!/usr/bin/env bash
# Makes the two base images the Dockerfile takes as build arguments, from Debian packages, for a
# machine where no container registry is reachable (only Debian's mirror and npm's registry):
#
#   deploy/image/bases.sh runtime IMAGE   glibc, libstdc++, libgcc, CA certificates and tzdata, each
#                                         unpacked from its .deb (`apt-get download` + `dpkg -x`),
#                                         and Node at /nodejs/bin/node: distroless's nodejs layout,
#                                         and like it no shell, no package manager, no dpkg database
#                                         (only status.d, for image scanners)
#   deploy/image/bases.sh build IMAGE     a minimal Debian 12 (debootstrap) with python3, make and g++,
#                                         and Node with npm and its headers in /usr/local, as in the
#                                         official node:20-bookworm image
#
# Node 20 is not in Debian 12 (which has 18), so it comes from this machine: the `node` on PATH,
# with the npm and headers of its installation prefix. Both bases get the same binary, so the
# addon compiled in the build stage matches the runtime's Node exactly. Runs as root (dpkg -x keeps
# owners, debootstrap chroots); uses buildah's default storage unless CONTAINERS_STORAGE_CONF says
# otherwise. Downloaded .debs are kept in PLIMSOLL_IMAGE_DEB_CACHE (default
# /var/cache/plimsoll-image/debs) for the next run.
set -euo pipefail

SUITE=bookworm
MIRROR=${PLIMSOLL_IMAGE_MIRROR:-http://deb.debian.org/debian}
DEBS=${PLIMSOLL_IMAGE_DEB_CACHE:-/var/cache/plimsoll-image/debs}
RUNTIME_PACKAGES=(libc6 libgcc-s1 libstdc++6 ca-certificates tzdata)
BUILD_PACKAGES=python3,make,g++

fail() {
  echo "deploy/image/bases.sh: $*" >&2
  exit 1
}

usage() {
  fail "usage: deploy/image/bases.sh runtime|build IMAGE (got: $*)"
}

[ $# -eq 2 ] || usage "$@"
kind=$1
image=$2
[ "$(id -u)" = 0 ] || fail "must run as root (dpkg -x keeps file owners; debootstrap chroots)"
command -v buildah >/dev/null || fail "buildah is not installed (apt-get install buildah)"

node_bin=$(readlink -f "$(command -v node)") || fail "no node on PATH"
node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
[ "$node_major" = 20 ] ||
  fail "$node_bin is Node $("$node_bin" --version); the image is built on Node 20 (like the Dockerfile's default bases)"
node_prefix=$(dirname "$(dirname "$node_bin")")

ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
root=$(buildah mount "$ctr")
mkdir -p "$DEBS"

runtime_base() {
  # The candidate version of each package (a machine without package lists updates them first),
  # downloaded unless an earlier run kept it.
  apt-get -q download --print-uris "${RUNTIME_PACKAGES[0]}" >/dev/null 2>&1 || apt-get -q update >/dev/null ||
    fail "apt-get update failed"
  local pkg deb
  for pkg in "${RUNTIME_PACKAGES[@]}"; do
    deb=$(apt-get -q download --print-uris "$pkg" | awk '{ print $2 }') ||
      fail "apt-get knows no package $pkg"
    [ -f "$DEBS/$deb" ] || (cd "$DEBS" && apt-get -q -o APT::Sandbox::User=root download "$pkg" >/dev/null) ||
      fail "apt-get download $pkg failed"
    dpkg -x "$DEBS/$deb" "$root"
    # What distroless records instead of a dpkg database: each package's control fields, so image
    # scanners (Trivy, Grype) know which Debian packages and versions the image holds.
    mkdir -p "$root/var/lib/dpkg/status.d"
    dpkg-deb -f "$DEBS/$deb" >"$root/var/lib/dpkg/status.d/$pkg"
  done
  # What ca-certificates' postinst (update-ca-certificates, not run by dpkg -x) would write: every
  # certificate the package ships, in one bundle.
  mkdir -p "$root/etc/ssl/certs"
  cat "$root"/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/ssl/certs/ca-certificates.crt"
  install -D -m 0755 "$node_bin" "$root/nodejs/bin/node"
  install -d -m 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' \
    >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  buildah config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --user 65534:65534 --entrypoint '["/nodejs/bin/node"]' \
    --label "org.opencontainers.image.description=Debian ${SUITE} ${RUNTIME_PACKAGES[*]} (dpkg -x) + Node $("$node_bin" --version) at /nodejs/bin/node" \
    "$ctr"
}

build_base() {
  debootstrap --variant=minbase --include="$BUILD_PACKAGES" --cache-dir="$DEBS" \
    "$SUITE" "$root" "$MIRROR" >/dev/null ||
    fail "debootstrap $SUITE into the build base failed (see $root/debootstrap/debootstrap.log)"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  install -D -m 0755 "$node_bin" "$root/usr/local/bin/node"
  [ -d "$node_prefix/lib/node_modules/npm" ] || fail "no npm in $node_prefix/lib/node_modules"
  [ -f "$node_prefix/include/node/node.h" ] || fail "no Node headers in $node_prefix/include/node"
  mkdir -p "$root/usr/local/lib/node_modules" "$root/usr/local/include"
  cp -a "$node_prefix/lib/node_modules/npm" "$root/usr/local/lib/node_modules/"
  cp -a "$node_prefix/include/node" "$root/usr/local/include/"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # node-gyp would download headers from nodejs.org (not reachable here); these are the binary's own.
  buildah config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env npm_config_nodedir=/usr/local \
    --cmd '["node"]' \
    --label "org.opencontainers.image.description=Debian ${SUITE} minbase + ${BUILD_PACKAGES} + Node $("$node_bin" --version) in /usr/local" \
    "$ctr"
}

case "$kind" in
runtime) runtime_base ;;
build) build_base ;;
*) usage "$@" ;;
esac
buildah unmount "$ctr" >/dev/null
buildah commit --rm --quiet "$ctr" "$image" >/dev/null
trap - EXIT
echo "$image"
