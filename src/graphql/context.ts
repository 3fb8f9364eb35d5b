import type { App, Services } from '../app';
import type { Actor } from '../auth/actor';
import type { Logger } from '../common/logger';
import type { StreamTransport } from '../evaluation/progress';
import { createRequestLoaders, type RequestLoaders } from './loaders';

/** Built once per operation at the composition root; never shared between requests. */
export interface GraphQLContext {
  requestId: string;
  actor: Actor;
  services: Services;
  loaders: RequestLoaders;
  logger: Logger;
  /**
   * What a subscription needs of its transport: the caller's credentials asked again while it
   * streams, and a stream slot. Only over the WebSocket; HTTP refuses subscriptions.
   */
  stream?: StreamTransport;
}

export function createContext(app: App, actor: Actor, requestId: string, stream?: StreamTransport): GraphQLContext {
  return {
    requestId,
    actor,
    services: app.services,
    loaders: createRequestLoaders(app.createLoaders(), app.services, actor),
    logger: app.logger.child({ requestId }),
    ...(stream ? { stream } : {}),
  };
}
