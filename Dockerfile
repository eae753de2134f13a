# syntax=docker/dockerfile:1
# One image for every shardgate component: the entrypoint is the `shardgate`
# CLI (operator, gateway, shard traefik, bridge). test/process/docker-image.test.ts
# runs the same steps without Docker (production install, then the commands).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="shardgate" \
      org.opencontainers.image.description="Kubernetes operator and MCP gateway for homelab clusters" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/shardgate/shardgate"
ENV NODE_ENV=production \
    LOG_FORMAT=json
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
# `shardgate` on PATH, as a global npm install would link the package's bin:
# the operator runs stdio shards as `shardgate bridge -- <command>` in this image.
RUN ln -s /app/dist/cli.js /usr/local/bin/shardgate && chmod 755 /app/dist/cli.js
COPY crds ./crds
COPY templates ./templates
# Non-root (the distroless "nonroot" uid): pods also set runAsNonRoot.
USER 65532:65532
EXPOSE 8080 8081
# Kubernetes uses the probes of the chart; this is for `docker run`. The gateway
# and shards answer /health on 8080; set HEALTH_URL for the operator (:8081/healthz).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTH_URL || 'http://127.0.0.1:8080/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["--help"]
