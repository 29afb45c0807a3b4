# One image for both daemons: `uploader …` (the default) or `segmenter …`, with Debian's ffmpeg
# (SRT, newer codecs) for sources and `segmenter ladder`.
#   docker build -t hlsrelay:0.1.0 .
#   docker run -e HLSRELAY_TOKEN=… -v hlsrelay-state:/var/lib/hlsrelay -p 10234:10234 hlsrelay:0.1.0

# Build: compile the TypeScript and pack the installable tarball, as README's Install section does.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages ./packages
COPY bin ./bin
COPY examples ./examples
COPY deploy ./deploy
COPY README.md SECURITY.md ./
# --ignore-scripts: `prepare` would build the tests too; only the two daemons and what they import
# are compiled.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npx tsc -b packages/segmenter packages/uploader \
 && npm pack --ignore-scripts --pack-destination /tmp \
 && mv /tmp/hlsrelay-*.tgz /tmp/hlsrelay.tgz

# Runtime: the packed tarball installed globally — compiled JavaScript and runtime dependencies
# only, no TypeScript, no test tools.
FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /tmp/hlsrelay.tgz /tmp/hlsrelay.tgz
RUN npm install -g --omit=dev --offline --no-audit --no-fund /tmp/hlsrelay.tgz \
 && rm /tmp/hlsrelay.tgz \
 && npm cache clean --force \
 && install -d -o node -g node /var/lib/hlsrelay /var/hls
USER node
# The uploader's journal and playlist state: keep it across upgrades.
VOLUME /var/lib/hlsrelay
# 10234: index messages from segmenters; 10235: the status port (/healthz, /metrics, /status).
EXPOSE 10234 10235
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:10235/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The uploader as a service. Off loopback it wants the segmenters' shared token: pass
# HLSRELAY_TOKEN (or add --token-file), or --insecure on a network only segmenters reach.
CMD ["uploader", "--listen", "0.0.0.0:10234", "--status-listen", "0.0.0.0:10235", "--state-dir", "/var/lib/hlsrelay", "--allow-dir", "/var/hls"]
