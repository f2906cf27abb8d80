# The aggregator (and, with another command, the `tributary` CLI / agents).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# Dependencies first (a cached layer), their scripts and the build once the sources are in:
# `prepare` compiles the sources. Dev dependencies stay: `npm start` runs the aggregator through
# tsx and builds the web app with vite.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm rebuild && npm run build && npm run build:web
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0
EXPOSE 3000
CMD ["npm", "start"]
