# syntax=docker/dockerfile:1
# Metronome's image: `beat` on a slim Node.js 26 (the active LTS line, supported until April 2029),
# production dependencies only, as a non-root user.
#
#   docker build -t metronome:0.1.0 .
#   docker run --rm -e DATABASE_URL=postgres://... -v "$PWD/schedules:/app/schedules:ro" metronome:0.1.0
#
# Your schedules: mount a schedules/ folder at /app/schedules, or bake it into an image of your own
# (FROM metronome:0.1.0, then COPY schedules/ ./schedules/). docs/deploy.md has the rest.
#
# The runtime stage installs the packed package into an empty project exactly as a user's project
# would (`npm init`, then `npm install --omit=dev` of the tarball). test/deploy/image.test.ts builds
# this file with podman and runs `beat` from the built image as its user; test/production/install.test.ts
# runs the same RUN line and ENTRYPOINT outside any image. docs/deploy.md, "The image".

# --- build: compile TypeScript and pack the package (no tests, benches or fixtures in it) ---
FROM node:26-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# npm ci runs the package's postinstall, which patches the Postgres driver (docs/runtime.md).
COPY scripts/patch-postgres-driver.mjs scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
COPY bin/ bin/
COPY migrations/ migrations/
COPY docs/ docs/
COPY README.md .env.example ./
RUN npm run build && npm pack --ignore-scripts && mv metronome-*.tgz /tmp/metronome.tgz

# --- runtime ---
FROM node:26-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# The tarball and npm's cache are mounted for this step only (BuildKit), so neither stays in the image.
RUN --mount=type=bind,from=build,source=/tmp/metronome.tgz,target=/tmp/metronome.tgz \
    --mount=type=cache,target=/root/.npm \
    npm init -y >/dev/null && npm install --omit=dev --no-audit --no-fund /tmp/metronome.tgz \
    && node node_modules/metronome/scripts/patch-postgres-driver.mjs
RUN mkdir -p /app/schedules && chown -R node:node /app/schedules
# The image's own user (uid 1000), never root. No secret is baked in: everything comes from the
# environment (docs/deploy.md lists the keys; .env.example inside node_modules/metronome too).
USER node
# /healthz, /readyz and /metrics. Set METRONOME_HTTP=0.0.0.0:9464 (or the pod's IP) to reach them
# from outside the container; the default is loopback.
EXPOSE 9464
# node is PID 1 and handles SIGTERM itself: it hands leadership over and exits within
# METRONOME_STOP_TIMEOUT (default 10 s). The declaration loader's child process is waited for.
ENTRYPOINT ["node", "node_modules/.bin/beat"]
CMD ["run"]
