import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ApolloServer } from '@apollo/server';
import { createApp, type App } from '../app';
import { loadConfig } from '../config/config';
import { createApolloServer } from '../graphql/apollo';
import { createContext, type GraphQLContext } from '../graphql/context';
import type { Logger } from '../common/logger';

/** An error the gateway reported, with its stable code. */
export class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

interface GraphQLResponse {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/**
 * The CLI speaks GraphQL both ways: in-process against the data directory (same services, same
 * checks, same errors) or over HTTP to a running gateway.
 */
export interface GatewayClient {
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** A dataset item's stored image (GET /datasets/<name>/items/<ordinal>/image over HTTP). */
  datasetImage(name: string, version: number, ordinal: number): Promise<Buffer>;
  /** In-process only: run background jobs (comparisons) here, as a server would. */
  startWorkers?(): void;
  close(): Promise<void>;
}

function unwrap<T>(body: GraphQLResponse): T {
  if (body.errors?.length) {
    const first = body.errors[0]!;
    const more = body.errors.length > 1 ? ` (and ${body.errors.length - 1} more)` : '';
    throw new GatewayError(first.extensions?.code ?? 'INTERNAL_SERVER_ERROR', first.message + more);
  }
  return body.data as T;
}

export function remoteClient(url: string, key: string | undefined): GatewayClient {
  const endpoint = new URL('/graphql', url).toString();
  return {
    async request<T>(query: string, variables: Record<string, unknown> = {}) {
      let res: Response;
      try {
        res = await fetch(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            // Apollo's CSRF prevention accepts JSON POSTs; this header also covers future GETs.
            'apollo-require-preflight': 'true',
            ...(key ? { authorization: `Bearer ${key}` } : {}),
          },
          body: JSON.stringify({ query, variables }),
        });
      } catch (e) {
        throw new GatewayError(
          'UNREACHABLE',
          `cannot reach ${endpoint}: ${(e as Error).cause ?? (e as Error).message}`,
        );
      }
      let body: GraphQLResponse;
      try {
        body = (await res.json()) as GraphQLResponse;
      } catch {
        throw new GatewayError('BAD_RESPONSE', `${endpoint} answered HTTP ${res.status} without a GraphQL response`);
      }
      return unwrap<T>(body);
    },
    async datasetImage(name, version, ordinal) {
      const route = new URL(
        `/datasets/${encodeURIComponent(name)}/items/${ordinal}/image?version=${version}`,
        url,
      ).toString();
      let res: Response;
      try {
        res = await fetch(route, { headers: key ? { authorization: `Bearer ${key}` } : {} });
      } catch (e) {
        throw new GatewayError('UNREACHABLE', `cannot reach ${route}: ${(e as Error).cause ?? (e as Error).message}`);
      }
      if (!res.ok) {
        const body = (await res.json().catch(() => null)) as GraphQLResponse | null;
        if (body?.errors?.length) unwrap(body);
        throw new GatewayError('BAD_RESPONSE', `${route} answered HTTP ${res.status}`);
      }
      return Buffer.from(await res.arrayBuffer());
    },
    close: async () => undefined,
  };
}

export async function localClient(opts: {
  key: string | undefined;
  logger: Logger;
}): Promise<GatewayClient & { app: App }> {
  const app = await createApp(loadConfig(), { logger: opts.logger });
  let apollo: ApolloServer<GraphQLContext> | undefined;
  try {
    const actor = opts.key ? await app.authenticate(`Bearer ${opts.key}`) : app.localActor();
    apollo = createApolloServer(app);
    await apollo.start();
    const server = apollo;
    return {
      app,
      startWorkers: () => app.startWorkers(),
      async request<T>(query: string, variables: Record<string, unknown> = {}) {
        const res = await server.executeOperation(
          { query, variables },
          { contextValue: createContext(app, actor, randomUUID()) },
        );
        if (res.body.kind !== 'single')
          throw new GatewayError('INTERNAL_SERVER_ERROR', 'unexpected incremental response');
        // Through JSON, as over the wire: scalars such as DateTime become their serialized form.
        return unwrap<T>(JSON.parse(JSON.stringify(res.body.singleResult)) as GraphQLResponse);
      },
      async datasetImage(name, version, ordinal) {
        const { file } = await app.services.datasets.itemImage(actor, name, ordinal, version);
        return readFile(file);
      },
      async close() {
        await server.stop();
        await app.close();
      },
    };
  } catch (e) {
    await apollo?.stop().catch(() => undefined);
    await app.close();
    throw e;
  }
}
