import { badInput } from './errors';

/** A list's page size when the caller gives none, and the most one request may ask for. */
export interface Page {
  readonly default: number;
  readonly max: number;
}

/**
 * Every list the API returns is bounded by one of these. The GraphQL cost limit multiplies each
 * list's contents by the same page size, so the two cannot disagree.
 */
export const PAGES = {
  models: { default: 50, max: 500 },
  versions: { default: 100, max: 1000 },
  aliases: { default: 100, max: 1000 },
  aliasHistory: { default: 100, max: 1000 },
  datasets: { default: 100, max: 1000 },
  datasetItems: { default: 100, max: 1000 },
  metricHistory: { default: 1000, max: 10_000 },
  comparisons: { default: 50, max: 500 },
  disagreements: { default: 20, max: 10_000 },
  apiKeys: { default: 100, max: 1000 },
  loadedVersions: { default: 100, max: 1000 },
  experiments: { default: 50, max: 500 },
  /** Per arm. */
  experimentPoints: { default: 200, max: 5000 },
  feedback: { default: 1000, max: 1000 },
} as const satisfies Record<string, Page>;

/** The page size a request asked for, or the default; BAD_USER_INPUT outside 1..max (0 where allowed). */
export function pageSize(
  first: number | null | undefined,
  page: Page,
  opts: { field?: string; allowZero?: boolean } = {},
): number {
  const n = first ?? page.default;
  const min = opts.allowZero ? 0 : 1;
  if (!Number.isInteger(n) || n < min || n > page.max) {
    const field = opts.field ?? 'first';
    throw badInput(`${field} must be between ${min} and ${page.max}, got ${n}`, { field, max: page.max });
  }
  return n;
}

/** The first page of a list already in hand (children the request's loaders fetched together). */
export function firstPage<T>(items: readonly T[], first: number | null | undefined, page: Page): T[] {
  return items.slice(0, pageSize(first, page));
}
