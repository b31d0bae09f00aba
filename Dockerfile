# dmp-bot container image: build with the dev toolchain, ship only dist/ and production
# dependencies, run as an unprivileged user in HTTP mode (Bolt's receiver on PORT).
# Build: docker build --build-arg NODE_VERSION="$(cat .node-version)" -t dmp-bot:0.1.0 .
#
# NODE_VERSION: the Node.js major the image runs, Node 24 (Active LTS; Node 20 is past end of
# life). .node-version is the one place it is pinned; this default must equal it and satisfy
# package.json's engines (test/deploy/chart.test.ts checks both). The code also runs on 20,
# which CI's machine has.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
# sim/package.json: the lockfile names the simulators' workspace; its code is not in the image.
COPY package.json package-lock.json ./
COPY sim/package.json ./sim/
# --ignore-scripts: the package's own `prepare` builds dist/, which needs src/ (copied next).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The build makes the embedded store's template too (dist/store-template): a new DATA_DIR is
# unpacked from it instead of running initdb in the bot (src/store/template.ts).
COPY scripts/store-template.mjs ./scripts/
RUN npm run build

FROM node:${NODE_VERSION}-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY sim/package.json ./sim/
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM node:${NODE_VERSION}-slim
# DATA_DIR: only the single-replica embedded store writes there; the chart mounts an emptyDir on /tmp.
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/tmp/dmp-bot-data
WORKDIR /app
# package.json is read at run time for the version in GET /health.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Numeric, so Kubernetes' runAsNonRoot can verify it (the image's "node" user is 1000).
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly, not `npm start`: npm would rebuild (prestart) and does not forward SIGTERM
# as reliably; main.ts drains on SIGTERM.
CMD ["node", "dist/main.js"]
