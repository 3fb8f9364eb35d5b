import { z } from 'zod';
import { badInput } from '../common/errors';

/** How tensors travel to a remote engine: the binary tensor extension (Triton, KServe) or plain JSON. */
export const REMOTE_PROTOCOLS = ['BINARY', 'JSON'] as const;
export type RemoteProtocol = (typeof REMOTE_PROTOCOLS)[number];

/**
 * A version served by a remote engine over the Open Inference Protocol v2 (KServe v2 / Triton HTTP)
 * instead of the local runtime: stored on the version (ModelVersion.remote).
 */
export interface RemoteBackend {
  /** Base URL of the server; the protocol's paths (/v2/...) are appended to it. */
  url: string;
  /** The model's name on the remote server. */
  model: string;
  /** The remote version; null lets the server choose (its own policy). */
  modelVersion: string | null;
  protocol: RemoteProtocol;
  /** Per request, retries included separately. */
  timeoutMs: number;
}

export const DEFAULT_REMOTE_TIMEOUT_MS = 10_000;

// A path segment of the protocol's URLs: encoded when used, but a slash would read as another route.
const segment = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .trim()
    .min(1, `${what} must not be empty`)
    .max(256, `${what} must be at most 256 characters`)
    .refine((s) => !s.includes('/'), `${what} must not contain "/"`);

const schema = z.object({
  url: z
    .string({ error: 'url must be a string' })
    .trim()
    .refine((s) => URL.canParse(s), 'url must be an absolute URL')
    .refine((s) => !URL.canParse(s) || ['http:', 'https:'].includes(new URL(s).protocol), 'url must be http(s)')
    .refine((s) => !URL.canParse(s) || (!new URL(s).search && !new URL(s).hash), 'url must have no query or fragment')
    // The setting is shown to every viewer (ModelVersion.remote) and logged: no secrets in it.
    .refine((s) => !URL.canParse(s) || (!new URL(s).username && !new URL(s).password), 'url must not carry credentials')
    // One form for every caller: no trailing slash, so paths append cleanly.
    .transform((s) => s.replace(/\/+$/, '')),
  model: segment('model'),
  modelVersion: segment('modelVersion')
    .nullish()
    .transform((v) => v ?? null),
  protocol: z.enum(REMOTE_PROTOCOLS, { error: 'protocol must be BINARY or JSON' }).default('BINARY'),
  timeoutMs: z
    .number({ error: 'timeoutMs must be a number' })
    .int('timeoutMs must be a whole number')
    .min(1, 'timeoutMs must be at least 1')
    .max(600_000, 'timeoutMs must be at most 600000')
    .default(DEFAULT_REMOTE_TIMEOUT_MS),
});

/** An admin's setting, checked: BAD_USER_INPUT listing every problem. */
export function parseRemoteBackend(input: unknown): RemoteBackend {
  // GraphQL sends an omitted optional field as null: it takes its default.
  const given =
    input && typeof input === 'object'
      ? Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined))
      : input;
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => i.message);
    throw badInput(`invalid remote backend: ${problems.join('; ')}`, { field: 'remote', problems });
  }
  return parsed.data;
}

/** The stored setting (ModelVersion.remote); null when the version runs locally. */
export function storedRemoteBackend(value: unknown): RemoteBackend | null {
  if (value === null || value === undefined) return null;
  // Written by parseRemoteBackend, so a failure here means the column was edited by hand.
  return parseRemoteBackend(value);
}
