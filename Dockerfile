# One image for both daemons: `uploader …` or `segmenter …` (ffmpeg from npm is inside, for sources).
FROM node:20-bookworm-slim
WORKDIR /opt/hlsrelay
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY scripts ./scripts
COPY test ./test
RUN npm ci --no-audit --no-fund \
 && ln -s /opt/hlsrelay/node_modules/.bin/uploader /usr/local/bin/uploader \
 && ln -s /opt/hlsrelay/node_modules/.bin/segmenter /usr/local/bin/segmenter \
 && ln -s "$(node -p "require('@ffmpeg-installer/ffmpeg').path")" /usr/local/bin/ffmpeg
RUN mkdir -p /var/lib/hlsrelay && chown node:node /var/lib/hlsrelay
USER node
# 10234: index messages from segmenters; 10235: --status-listen (/healthz, /metrics, /status).
EXPOSE 10234 10235
CMD ["uploader", "--help"]
