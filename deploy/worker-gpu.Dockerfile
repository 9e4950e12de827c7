# syntax=docker/dockerfile:1
# A GPU worker (`swamp worker --backend tensorflow-gpu`): TensorFlow.js on CUDA through
# @tensorflow/tfjs-node-gpu 4.22, whose libtensorflow 2.9 needs CUDA 11.2 and cuDNN 8.1 (hence
# this base image) and an NVIDIA driver on the host (run with `--gpus all`, or the NVIDIA device
# plugin on Kubernetes). One task slot per GPU by default; NATS_URL and data sets as for the CPU worker.
#
#   docker build -f deploy/worker-gpu.Dockerfile -t swamp-worker-gpu .  (from the repository root)

ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04

FROM node:20-bookworm-slim AS node

FROM ${CUDA_IMAGE} AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates python3 make g++ libopenblas-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
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
# Not a dependency of the project (it cannot install where libtensorflow cannot be downloaded):
# added here, after pruning, at the version that matches tfjs-core 4.22. Its install downloads
# the GPU build of libtensorflow.
RUN npm install --no-save --omit=dev --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0

FROM ${CUDA_IMAGE}
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libopenblas0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 swamp
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
# The addon is found beside native/binding.gyp, which marks the project root.
COPY --from=build /app/native ./native
COPY --from=build /app/bin ./bin
COPY --from=build /app/configs ./configs
COPY --from=build /app/dist ./dist
USER swamp
ENTRYPOINT ["node", "bin/swamp.js"]
CMD ["worker", "--backend", "tensorflow-gpu", "--slots", "1"]
