# vigil worker / ingest image (used by docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /opt/vigil
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY config ./config
COPY runbooks ./runbooks
COPY tsconfig.json ./
ENV NODE_ENV=production
ENTRYPOINT ["node", "bin/vigil.js"]
