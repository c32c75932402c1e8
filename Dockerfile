# syntax=docker/dockerfile:1
# stylize-proxy: build with dev dependencies, run with production ones only, as the non-root `node` user.
# Node 24 is the current LTS; the project's pins (undici 7, TypeScript ~5.9, sharp 0.35 with its prebuilt
# libvips for glibc) all run on it. Pinned to a digest for reproducible builds (refresh: docker buildx
# imagetools inspect node:24-slim; docker-compose.yml passes the same through NODE_IMAGE).
ARG NODE_IMAGE=node:24-slim@sha256:a9f5f7c91a432850b2a8a7797adf5eadb6c733ceed61167806cee7ea7fbc29df

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# the typed client (packages/client) is a workspace of its own that the server never imports: only its
# package.json, which the lockfile names, is needed to install; --workspaces=false leaves it unbuilt
COPY package.json package-lock.json ./
COPY packages/client/package.json packages/client/
RUN npm ci --no-audit --no-fund --workspaces=false
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# two malloc arenas, not 8 per core: sharp's threads otherwise each grow an arena of their own (README, "Configuration")
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json packages/client/
RUN npm ci --omit=dev --no-audit --no-fund --workspaces=false && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY openapi.yaml ./
USER node
EXPOSE 3000
# node itself, no curl in the image; PORT as the service was given it
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node as PID 1, no npm or shell in between: SIGTERM reaches close-with-grace, which drains and exits 0
CMD ["node", "dist/server.js"]
