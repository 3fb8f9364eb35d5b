// The UI's only ways into the gateway: GraphQL at /graphql and the documented HTTP routes, with the session cookie.

/** A refusal from the gateway, with its stable code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

interface Document<R, V> {
  toString(): string;
  /** Phantom fields that carry the operation's types (GraphQL Code Generator's TypedDocumentString). */
  __apiType?: (variables: V) => R;
}

interface GraphQLError {
  message: string;
  extensions?: { code?: string; requestId?: string };
}

async function readErrors(res: Response): Promise<GraphQLError[]> {
  try {
    const body = (await res.json()) as { errors?: GraphQLError[] };
    return body.errors ?? [];
  } catch {
    return [];
  }
}

function toError(errors: GraphQLError[], status: number): ApiError {
  const first = errors[0];
  if (!first) return new ApiError(`the gateway answered HTTP ${status}`, status === 401 ? 'UNAUTHENTICATED' : 'HTTP');
  return new ApiError(first.message, first.extensions?.code ?? 'INTERNAL_SERVER_ERROR', first.extensions?.requestId);
}

/** Runs one operation; any error (even beside partial data) is thrown as an ApiError. */
export async function gql<R, V>(doc: Document<R, V>, variables?: V): Promise<R> {
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      // Apollo's CSRF prevention: a JSON body plus a header a form cannot send.
      headers: { 'content-type': 'application/json', 'apollo-require-preflight': 'true' },
      body: JSON.stringify({ query: doc.toString(), variables: variables ?? {} }),
    });
  } catch {
    throw new ApiError('the gateway cannot be reached', 'NETWORK');
  }
  let body: { data?: R | null; errors?: GraphQLError[] };
  try {
    body = await res.json();
  } catch {
    throw new ApiError(`the gateway answered HTTP ${res.status}`, 'HTTP');
  }
  if (body.errors?.length) throw toError(body.errors, res.status);
  if (!body.data) throw new ApiError('the gateway sent no data', 'HTTP');
  return body.data;
}

export interface Session {
  role: 'viewer' | 'operator' | 'admin';
  keyName: string;
  expiresAt: string;
  idleExpiresAt: string;
}

export async function getSession(): Promise<Session | null> {
  const res = await fetch('/auth/session', { credentials: 'same-origin' });
  if (res.status === 401) return null;
  if (!res.ok) throw toError(await readErrors(res), res.status);
  return (await res.json()) as Session;
}

export async function signIn(key: string): Promise<Session> {
  const res = await fetch('/auth/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  });
  if (!res.ok) throw toError(await readErrors(res), res.status);
  return (await res.json()) as Session;
}

export async function signOut(): Promise<void> {
  const res = await fetch('/auth/logout', { method: 'POST', credentials: 'same-origin' });
  if (!res.ok) throw toError(await readErrors(res), res.status);
}

const WORDS: Record<string, string> = {
  UNAUTHENTICATED: 'You are not signed in, or your session has ended.',
  FORBIDDEN: 'Your key’s role does not allow this.',
  NOT_FOUND: 'Not found.',
  BAD_USER_INPUT: 'The gateway refused the input.',
  CONFLICT: 'This conflicts with the current state.',
  INVALID_IMAGE: 'That file is not an image the gateway can read.',
  PAYLOAD_TOO_LARGE: 'That is too large.',
  MODEL_NOT_READY: 'The model version is not ready.',
  MODEL_LOAD_FAILED: 'The model version failed to load.',
  QUERY_TOO_COMPLEX: 'The request asked for too much at once.',
  RATE_LIMITED: 'Too many requests: wait a moment and try again.',
  RESOURCE_EXHAUSTED: 'The gateway is busy: try again shortly.',
  TIMEOUT: 'The gateway took too long.',
  UNAVAILABLE: 'The gateway’s database is unavailable.',
  BACKEND_UNAVAILABLE: 'The remote inference engine serving this version is unavailable.',
  INTERNAL_SERVER_ERROR: 'The gateway failed unexpectedly.',
  NETWORK: 'The gateway cannot be reached.',
};

/** The code in words, then the gateway's own message. */
export function describeError(e: unknown): { title: string; detail: string; code: string } {
  if (e instanceof ApiError) return { title: WORDS[e.code] ?? e.code, detail: e.message, code: e.code };
  return { title: 'Something went wrong.', detail: String((e as Error)?.message ?? e), code: 'CLIENT' };
}

export function isUnauthenticated(e: unknown): boolean {
  return e instanceof ApiError && e.code === 'UNAUTHENTICATED';
}
