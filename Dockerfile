# Roster: build in one stage, run the compiled server with production dependencies only.
#   docker build -t roster .
#   docker run -p 8080:8080 -v roster-data:/var/lib/roster roster

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    ROSTER_DATA_DIR=/var/lib/roster/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# the embedded PostgreSQL and master.key live in the volume; the node user owns it
RUN mkdir -p /var/lib/roster/data && chown -R node:node /var/lib/roster
USER node
VOLUME ["/var/lib/roster"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "dist/main.js", "ready"]
# node is pid 1 (no shell or npm in between): SIGTERM from `docker stop` reaches Roster itself
CMD ["node", "dist/main.js", "start"]
