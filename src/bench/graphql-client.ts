/**
 * GraphQL over HTTP for the benchmarks' own control requests (keys, comparisons, checks), made from
 * the bench's main thread. Every answer is tallied by operation ("query:predict", as the gateway's
 * /metrics names it) and outcome (OK or the first error code), so that the gateway's request
 * counters can be checked against what the bench sent.
 */
import { Kind, parse } from 'graphql';

export interface GqlErrorEntry {
  message: string;
  extensions?: { code?: string; [k: string]: unknown };
}

export interface GqlAnswer {
  /** HTTP status; 0 when no answer came (network error or client timeout). */
  status: number;
  data: Record<string, any> | null;
  errors: GqlErrorEntry[];
  /** OK, the first error's code, HTTP_<status> without one, or NETWORK / CLIENT_TIMEOUT. */
  outcome: string;
  message: string | null;
  ms: number;
}

export class GqlError extends Error {
  constructor(
    readonly outcome: string,
    message: string,
    readonly status: number,
  ) {
    super(`${outcome}: ${message}`);
    this.name = 'GqlError';
  }
}

const names = new Map<string, string>();

/** "query:predict": the operation type and its first root field, as the gateway's metrics label it. */
export function operationName(query: string): string {
  let name = names.get(query);
  if (!name) {
    try {
      const op = parse(query).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
      const field = op?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
      name = op && field?.kind === Kind.FIELD ? `${op.operation}:${field.name.value}` : 'invalid';
    } catch {
      name = 'invalid';
    }
    names.set(query, name);
  }
  return name;
}

/** Answers to control requests by "operation|outcome". */
export const controlTally = new Map<string, number>();

/** The outcome of an HTTP answer with a GraphQL body: OK, the first error's code, or HTTP_<status>. */
export function outcomeOf(status: number, body: { data?: unknown; errors?: GqlErrorEntry[] } | null): string {
  const first = body?.errors?.[0];
  if (first) return first.extensions?.code ?? `HTTP_${status}`;
  if (status < 200 || status >= 300 || !body?.data) return `HTTP_${status}`;
  return 'OK';
}

/** One request; never throws: failures are in `outcome`. */
export async function request(
  url: string,
  key: string | null,
  query: string,
  variables: Record<string, unknown> = {},
  opts: { timeoutMs?: number } = {},
): Promise<GqlAnswer> {
  const started = performance.now();
  const op = operationName(query);
  let answer: GqlAnswer;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
    });
    const text = await res.text();
    type Body = { data?: Record<string, any> | null; errors?: GqlErrorEntry[] } | null;
    let body: Body = null;
    try {
      body = JSON.parse(text) as Body;
    } catch {
      // not JSON: the outcome says HTTP_<status>
    }
    const outcome = outcomeOf(res.status, body);
    answer = {
      status: res.status,
      data: body?.data ?? null,
      errors: body?.errors ?? [],
      outcome,
      message: outcome === 'OK' ? null : (body?.errors?.[0]?.message ?? text.slice(0, 200)),
      ms: performance.now() - started,
    };
  } catch (e) {
    const timedOut = (e as Error).name === 'TimeoutError';
    answer = {
      status: 0,
      data: null,
      errors: [],
      outcome: timedOut ? 'CLIENT_TIMEOUT' : 'NETWORK',
      message: (e as Error).message,
      ms: performance.now() - started,
    };
  }
  const tallyKey = `${op}|${answer.outcome}`;
  controlTally.set(tallyKey, (controlTally.get(tallyKey) ?? 0) + 1);
  return answer;
}

/** One request whose data the caller needs: throws GqlError unless it succeeded. */
export async function gql(
  url: string,
  key: string | null,
  query: string,
  variables: Record<string, unknown> = {},
  opts: { timeoutMs?: number } = {},
): Promise<Record<string, any>> {
  const a = await request(url, key, query, variables, opts);
  if (a.outcome !== 'OK' || !a.data) throw new GqlError(a.outcome, a.message ?? 'no data', a.status);
  return a.data;
}
