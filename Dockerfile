# The aggregator (and, with another command, the `tributary` CLI / agents).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV PORT=3000 HOST=0.0.0.0
EXPOSE 3000
CMD ["npm", "start"]
