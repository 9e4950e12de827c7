# syntax=docker/dockerfile:1
# A CPU worker (`swamp worker`): pulls tasks from NATS JetStream and trains them with TensorFlow.js on
# WebAssembly with the project's kernels (and OpenBLAS through the native addon). One task slot per
# core unless `--slots N`. Needs NATS_URL (with NATS_USER/NATS_PASSWORD or NATS_TOKEN); data sets
# are read from /usr/share/datasets (mount them there, e.g. /usr/share/datasets/fashion-mnist).
# SIGTERM gives unfinished tasks back to the queue: allow it a grace period of a minute or so.
#
#   docker build -f deploy/worker.Dockerfile -t swamp-worker .        (from the repository root)

FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libopenblas-dev \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY native ./native
COPY bin ./bin
COPY configs ./configs
COPY protocol ./protocol
COPY schema ./schema
COPY transport ./transport
COPY server ./server
COPY worker ./worker
COPY cli ./cli
COPY web ./web
COPY migrations ./migrations
COPY test ./test
COPY bench ./bench
# `npm ci` builds everything as on a developer's machine: the native kernels (install) and dist/
# (prepare, with the dev dependencies' tsc), so the sources go in first. Then only what runs stays.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
# The native kernels open the system's OpenBLAS at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0 \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
# The addon is found beside native/binding.gyp, which marks the project root.
COPY --from=build /app/native ./native
COPY --from=build /app/bin ./bin
COPY --from=build /app/configs ./configs
COPY --from=build /app/dist ./dist
USER node
ENTRYPOINT ["node", "bin/swamp.js"]
CMD ["worker", "--backend", "wasm"]
