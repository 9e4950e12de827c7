# syntax=docker/dockerfile:1
# The tracking server with its coordinator (`swamp server` with NATS_URL): GraphQL over HTTP
# and WebSocket on port 4000, results and metrics from NATS, records in PostgreSQL.
# Needs DATABASE_URL and NATS_URL (with NATS_USER/NATS_PASSWORD or NATS_TOKEN). Several replicas
# may run side by side: they share the result stream, the metric queue group and the live feed, and
# take turns (advisory locks) at migrating the database and creating the first admin token.
#
#   docker build -f deploy/server.Dockerfile -t swamp-server .        (from the repository root)

FROM node:20-bookworm-slim AS build
WORKDIR /app
# The install step builds the optional native kernels; with these it succeeds, without them it only says so.
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
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000 SWAMP_HOME=/var/lib/swamp
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/configs ./configs
COPY --from=build /app/dist ./dist
RUN mkdir -p /var/lib/swamp && chown node:node /var/lib/swamp
USER node
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "bin/swamp.js"]
CMD ["server"]
