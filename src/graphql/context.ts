import type { App, Services } from '../app';
import type { Actor } from '../auth/actor';
import type { Logger } from '../common/logger';
import { createRequestLoaders, type RequestLoaders } from './loaders';

/** Built once per operation at the composition root; never shared between requests. */
export interface GraphQLContext {
  requestId: string;
  actor: Actor;
  services: Services;
  loaders: RequestLoaders;
  logger: Logger;
}

export function createContext(app: App, actor: Actor, requestId: string): GraphQLContext {
  return {
    requestId,
    actor,
    services: app.services,
    loaders: createRequestLoaders(app.createLoaders(), app.services, actor),
    logger: app.logger.child({ requestId }),
  };
}
