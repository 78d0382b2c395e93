# The worker image: docker compose builds it for the worker and the simulator.
FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY rules ./rules
# The moderation console's browser files, served at /console.
COPY console ./console
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
ENV NODE_ENV=production
USER node
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["start"]
