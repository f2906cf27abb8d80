/**
 * OpenAPI document of the REST routes at `/docs` (JSON at `/docs/json`). Paths and parameters are
 * read from the controllers by @nestjs/swagger; request bodies come from the zod schemas the routes
 * validate with (`z.toJSONSchema`), so the document cannot drift from what the server accepts.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { RegisterBounty } from '../bounties/bounties.service.js';

type Operation = NonNullable<OpenAPIObject['paths'][string]['get']>;

/** Request bodies by `METHOD path`, each the schema its route parses with. */
const BODIES: Record<string, z.ZodType> = {
  'post /bounties': RegisterBounty,
  'post /auth/challenge': z.object({ address: z.string().regex(/^0x[0-9a-fA-F]{40}$/) }),
};

const SUMMARIES: Record<string, string> = {
  'post /auth/challenge': 'EIP-712 sign-in challenge for an address',
  'post /bounties': 'Register a bounty funded on chain (hashes re-checked against the chain)',
  'get /bounties': 'Every registered bounty',
  'get /bounties/{id}': 'One bounty',
  'get /bounties/{id}/rounds':
    'Rounds with groups, survivors, group-sum hashes, the scoring record, timings and receipts',
  'get /bounties/{id}/contributors': 'Per address: rounds, contributions, score sum, rewards',
  'get /models/{bountyId}': 'Model versions and their hashes',
  'get /models/{bountyId}/versions/{version}/model.json':
    'tfjs model.json; non-open models need a licence holder’s signed headers',
  'get /models/{bountyId}/versions/{version}/weights.bin':
    'Weights of a version (same licence check)',
  'get /chain': 'Chain id, RPC URL, contract addresses and coordinator',
};

export function openApiDocument(app: NestExpressApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Tributary aggregator')
    .setDescription(
      'REST routes of the aggregator. Agents speak Socket.IO on `/agents`; the web app watches ' +
        'rounds on the public, read-only `/watch` namespace.',
    )
    .setVersion('0.1.0')
    .build();
  const doc = SwaggerModule.createDocument(app, config);
  // zod 4 emits JSON Schema 2020-12, which is OpenAPI 3.1's schema dialect.
  doc.openapi = '3.1.0';
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'post'] as const) {
      const op: Operation | undefined = item[method];
      if (!op) continue;
      const key = `${method} ${path}`;
      op.summary = SUMMARIES[key] ?? op.summary;
      const body = BODIES[key];
      if (body) {
        const schema = z.toJSONSchema(body, { io: 'input' }) as Record<string, unknown>;
        delete schema.$schema;
        op.requestBody = { required: true, content: { 'application/json': { schema } } };
      }
    }
  }
  return doc;
}

export function mountDocs(app: NestExpressApplication): OpenAPIObject {
  const doc = openApiDocument(app);
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/json' });
  return doc;
}
