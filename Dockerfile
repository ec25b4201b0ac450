# syntax=docker/dockerfile:1
# Plimsoll's container image (docs/install.md, "The image"): the npm package and its production
# dependencies on a runtime base that holds glibc, libstdc++, CA certificates, time zones and Node 20
# at /nodejs/bin/node, and nothing else: no shell, no package manager. It runs as 10001:10001
# (src/install/pod.ts), writes nowhere but /tmp (a read-only root filesystem works), and its
# entrypoint is `plimsoll`, so a Deployment's `args` are the command line.
#
# Both bases are build arguments. The defaults are public images, for `docker build .` anywhere;
# scripts/build-image.sh builds the same file with buildah over bases made from Debian packages
# (deploy/image/bases.sh) where no registry but Debian's and npm's is reachable.
#   BUILD_IMAGE: Debian 12 with Node 20, npm, python3, make and g++ (better-sqlite3 compiles from
#                source when its prebuilt binary cannot be downloaded)
#   RUNTIME_IMAGE: Debian 12's libraries with Node 20 at /nodejs/bin/node (distroless's layout)
ARG BUILD_IMAGE=docker.io/library/node:20-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
ENV CI=true npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
# Dependencies before sources, so this layer is reused until the lockfile changes. No scripts here:
# the package's own `prepare` would build sources not copied yet; better-sqlite3's install script
# (the only dependency that has one) then runs on its own. --prefer-offline: the lockfile records no
# download URLs, so npm would ask the registry about every package even when a cache holds it.
RUN npm ci --ignore-scripts --prefer-offline && npm rebuild better-sqlite3
COPY . .
# The package exactly as `npm pack` publishes it (package.json's `files`), next to the production
# dependencies only. better-sqlite3 keeps its compiled addon and loses its C sources and objects.
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts \
 && npm pack --ignore-scripts --pack-destination /tmp \
 && mkdir /out \
 && tar -xzf /tmp/plimsoll-*.tgz -C /out --strip-components=1 --no-same-owner \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node /tmp/ \
 && rm -rf build deps src && mkdir -p build/Release && mv /tmp/better_sqlite3.node build/Release/ \
 && cd /src \
 && mv node_modules /out/node_modules \
 && chmod -R a+rX,go-w /out

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="plimsoll" \
      org.opencontainers.image.description="Keeps a growing Kubernetes estate inside its guardrails" \
      org.opencontainers.image.licenses="Apache-2.0"
# Owned by root and not writable by the user that runs: the code cannot be changed at run time.
COPY --from=build --chown=0:0 /out /app
WORKDIR /app
ENV NODE_ENV=production
USER 10001:10001
EXPOSE 8080 9443 9444
# Exec form with absolute paths: nothing needs a shell. Deployments set only `args`.
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/plimsoll.js"]
CMD ["--help"]
