# syntax=docker/dockerfile:1
# GopherShip image: build with the full toolchain, run on node:20-slim with production dependencies and
# the compiled dist/ only, as the unprivileged `node` user.
#
#   docker build -t gophership .
#   docker run -p 4317:4317 -p 4318:4318 -p 8888:8888 -v gs-data:/var/lib/gophership gophership
#   docker run ... gophership --config /etc/gophership/my.yaml     (mount your config there)

# --- build: npm ci (locked tree, dev dependencies) + tsc -----------------------------------------------
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The prepare script would run tsc before the sources are here; the build step below runs it.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY receivers ./receivers
COPY processors ./processors
COPY exporters ./exporters
COPY extensions ./extensions
COPY connectors ./connectors
COPY proto ./proto
RUN npx tsc -p tsconfig.json

# --- production dependencies only ----------------------------------------------------------------------
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# --- runtime -------------------------------------------------------------------------------------------
FROM node:20-slim
ENV NODE_ENV=production
# glibc's malloc returns freed request buffers to the system only with its mmap threshold held (src/core/allocator.ts).
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY deploy/container.yaml /etc/gophership/config.yaml
# The data directory (WAL-backed queues, somatic debt, file exporter output) belongs to the runtime user.
RUN mkdir -p /var/lib/gophership && chown node:node /var/lib/gophership
USER node
VOLUME ["/var/lib/gophership"]
# OTLP gRPC, OTLP HTTP, self-metrics + status page, health_check.
EXPOSE 4317 4318 8888 13133
# slim has no curl: node's own fetch asks the health_check extension (503 while starting or draining).
# A config that serves health_check elsewhere sets GOPHERSHIP_HEALTH_URL.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.GOPHERSHIP_HEALTH_URL||'http://127.0.0.1:13133/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM drains in-flight work (--shutdown-timeout, default 30s); keep the stop grace period above it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/gophership.js"]
CMD ["--config", "/etc/gophership/config.yaml"]
