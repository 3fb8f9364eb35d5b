/**
 * Seeded fuzzing of the GraphQL surface (run in both the pglite and postgres projects).
 *
 * 1. Every Mutation field of the generated schema (enumerated, never listed by hand: a new mutation
 *    is fuzzed the day it is added) gets random variables built from its argument types, and is run
 *    as an admin, an operator or a viewer against a registry holding real rows (the gray model with
 *    versions and aliases, a DVC-imported dataset, an MLflow store and a DVC project on disk).
 * 2. Real PNG, JPEG and WebP bytes, mutated (bit flips, truncation, insertions, deletions,
 *    duplicated chunks, huge declared dimensions, junk prefixes), go to `predict` as base64 (plain
 *    and as a data: URL) through Apollo, and as multipart uploads through the HTTP server.
 *
 * The properties: every answer is well-formed (data, or errors whose codes are documented, without
 * stack traces), nothing is ever INTERNAL_SERVER_ERROR (an unexpected error means some input path
 * is not validated), and the app logs nothing at level error. Both use the fixed SEED, so a failure
 * reproduces (fast-check prints the seed, the path and the shrunk counterexample). The case counts
 * below are what RELIABILITY.md reports; each test asserts that exactly that many cases ran and
 * writes a summary (cases, outcomes by mutation or by source image, milliseconds) to
 * os.tmpdir()/modelgate-fuzz-<db>.json.
 *
 * Nothing here can write outside the test's DATA_DIR and its temporary folder: MLFLOW_ALLOWED_HOSTS
 * is empty (an http tracking URI is refused before any request), IMPORT_ROOTS are the repository
 * and the temporary folder (read only; a test checks the work tree is unchanged), and the gateway
 * writes only below DATA_DIR.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import pino from 'pino';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  parse,
  validate,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';
import { ErrorCode } from '../../src/common/errors';
import { loadConfig } from '../../src/config/config';
import { buildGatewaySchema } from '../../src/graphql/schema';
import { startServer, type RunningServer } from '../../src/http/server';
import { writeDvcProject } from '../helpers/dvc-project';
import { gitIn } from '../helpers/git';
import { writeMlflowStore } from '../helpers/mlflow-store';
import {
  createTestApp,
  dbKind,
  expectData,
  fixture,
  FIXTURES,
  GRAY_MODEL,
  type GqlResult,
  type TestApp,
} from '../helpers/test-app';

/** One seed for both properties: a failure reproduces as is. */
const SEED = 20261202;
/**
 * Cases tried by each property, per database. Sized so that the whole file takes about 40 s per
 * database on a 2-core machine shared with other work (measured: pglite 28-41 s, postgres 22-38 s).
 */
/** Property 1: random variables to a mutation, all mutations together (each gets about MUTATION_RUNS / their number). */
const MUTATION_RUNS = 2000;
/** Property 2: mutated image files to predict; a quarter go through HTTP as multipart uploads, a quarter as data: URLs. */
const IMAGE_RUNS = 1500;

/** Every code a client may see: the domain's, plus the ones Apollo assigns to malformed requests (src/graphql/errors.ts). */
const DOCUMENTED = new Set<string>([
  ...Object.values(ErrorCode),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
]);
const IMAGE_CODES = new Set<string>([ErrorCode.INVALID_IMAGE, ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.BAD_USER_INPUT]);
const STACK_LINE = /\n\s+at /;

/** What is wrong with an answer (empty: nothing). `allowed`: the codes this property accepts. */
function problems(result: GqlResult, allowed: Set<string>): string[] {
  const found: string[] = [];
  const errors = result.errors ?? [];
  if (result.data == null && errors.length === 0) found.push('neither data nor errors');
  for (const e of errors) {
    const code = e.extensions?.code;
    if (typeof code !== 'string' || !allowed.has(code)) found.push(`code ${String(code)} not allowed: ${e.message}`);
    if (code === ErrorCode.INTERNAL_SERVER_ERROR)
      found.push(`INTERNAL_SERVER_ERROR at ${JSON.stringify(e.path ?? null)}`);
    if (typeof e.message !== 'string' || e.message === '')
      found.push(`an error without a message (code ${String(code)})`);
    else if (STACK_LINE.test(e.message)) found.push(`a stack trace in the message: ${e.message.slice(0, 300)}`);
    else if (e.message.includes('Internal server error') && code !== ErrorCode.INTERNAL_SERVER_ERROR)
      found.push(`"Internal server error" under code ${String(code)}`);
    if (e.extensions && 'stacktrace' in e.extensions) found.push('extensions.stacktrace is exposed');
  }
  // Data can hide an unexpected failure too: an import item's reason says INTERNAL_SERVER_ERROR.
  const data = JSON.stringify(result.data ?? null);
  if (data.includes(ErrorCode.INTERNAL_SERVER_ERROR))
    found.push(`INTERNAL_SERVER_ERROR inside data: ${data.slice(0, 500)}`);
  if (STACK_LINE.test(data)) found.push('a stack trace inside data');
  return found;
}

// ---------------------------------------------------------------------------------------------
// Property 1: random variables from the argument types of every mutation
// ---------------------------------------------------------------------------------------------

/** Strings worth more than a random one: rows that exist, paths, options, encodings. beforeAll adds the paths of the fixtures and projects. */
const KNOWN_STRINGS: string[] = [
  '',
  ' ',
  'gray',
  'gray ',
  'GRAY',
  'shapes',
  'shapes-eval',
  'shapes-eval@1',
  'shapes-eval@0',
  'shapes-eval@99999999999999999999',
  '@1',
  'baseline',
  'champion',
  'staging',
  'fuzz-key',
  '1',
  '2',
  '0',
  '-1',
  '999999999999',
  '1e309',
  'NaN',
  'null',
  'HEAD',
  'HEAD~1',
  'HEAD^{tree}',
  'image-classification',
  '../../etc/passwd',
  '/etc/passwd',
  '/etc',
  '/',
  '.',
  '..',
  '/dev/zero',
  '/dev/null',
  '/proc/self/environ',
  '/proc/self/fd/0',
  'file:///etc/passwd',
  'file://',
  'file:///',
  'http://127.0.0.1:1/',
  'https://example.com/mlflow',
  'ftp://example.com/',
  '-rf',
  '--help',
  '--output=/tmp/x',
  '-',
  'a\u0000b',
  '\u0000',
  '\u0000/etc/passwd',
  'gray\u0000',
  '\ud800',
  'a\udfffb',
  '\ufeffgray',
  '\u202egray',
  'ｇｒａｙ',
  '🙂🙂',
  'e\u0301',
  '%s%n%x',
  '${jndi:ldap://x}',
  '\'; DROP TABLE "Model"; --',
  '\\',
  'C:\\Windows\\system32',
  '~/.ssh/id_rsa',
  'x'.repeat(129),
  'x'.repeat(4096),
];
const PATH_SEGMENTS = [
  '..',
  '.',
  '',
  'etc',
  'passwd',
  'tmp',
  'dev',
  'null',
  'a b',
  '\u0000',
  '%2e%2e',
  '...',
  '~',
  'fixtures',
  'gray8x8-3class.onnx',
];

const OMIT = Symbol('omit');
type Gen = fc.Arbitrary<unknown>;
const weighted = (...pairs: [number, Gen][]): Gen =>
  fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

function stringArb(): Gen {
  const pathLike = fc
    .tuple(fc.boolean(), fc.array(fc.constantFrom(...PATH_SEGMENTS), { minLength: 1, maxLength: 6 }))
    .map(([absolute, parts]) => (absolute ? '/' : '') + parts.join('/'));
  const spliced = fc
    .tuple(
      fc.constantFrom(...KNOWN_STRINGS),
      fc.constantFrom('\u0000', '\n', '\r\n', '\t', '\ud800', '"', "'", '`', '/', '@', '%', '..', '\u2028'),
      fc.nat(),
    )
    .map(([s, insert, at]) => s.slice(0, at % (s.length + 1)) + insert + s.slice(at % (s.length + 1)));
  return weighted(
    [4, fc.constantFrom(...KNOWN_STRINGS)],
    [3, fc.string({ maxLength: 24 })],
    [1, fc.string({ unit: 'grapheme', maxLength: 24 })],
    [1, fc.string({ unit: 'binary', maxLength: 24 })],
    [1, fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 16 })],
    [2, pathLike],
    [2, spliced],
    [1, fc.string({ minLength: 1024, maxLength: 4096 })],
  );
}

const INT_EDGES = [0, 1, 2, 3, -1, 5, 100, 2147483647, -2147483648, -0];
/** Not an Int: out of 32-bit range, fractional, or a double. GraphQL refuses these while coercing the variables. */
const NOT_INT = fc.oneof(fc.constantFrom(2147483648, -2147483649, 2 ** 53, 1e21, 1.5), fc.double());
const intArb = (sloppy = false): Gen =>
  sloppy
    ? weighted([2, fc.constantFrom(...INT_EDGES)], [1, fc.integer()], [1, NOT_INT])
    : weighted([8, fc.constantFrom(...INT_EDGES)], [6, fc.integer({ min: -3, max: 10 })], [5, fc.integer()]);
/** NaN and Infinity are generated too: JSON carries them as null, as any client would send them. */
const floatArb = (): Gen =>
  weighted(
    [3, fc.constantFrom(0, -0, 1, 0.05, 0.5, 0.99, 1e-300, 5e-324, 1e308, -1e308, 2, -1, NaN, Infinity, -Infinity)],
    [3, fc.double()],
    [1, fc.integer()],
  );

/** Keys the gateway reads from JSON arguments (input specs, tags, label mappings): random keys alone would never get past the first check. */
const JSON_KEYS = [
  'width',
  'height',
  'channels',
  'mean',
  'std',
  'resize',
  'interpolation',
  'cropRatio',
  'scale',
  'layout',
  'inputName',
  'outputName',
  'output',
  ...GRAY_MODEL.labels,
  'inference.providers',
  '__proto__',
  'constructor',
  '',
];
function jsonArb(): Gen {
  const leaf = weighted(
    [3, stringArb()],
    [2, intArb(true)],
    [1, floatArb()],
    [1, fc.boolean()],
    [1, fc.constant(null)],
    [1, fc.constantFrom('resize', 'resize-crop', 'letterbox', 'NCHW', 'NHWC', 'logits', 'bilinear', 'cpu', 'webgpu')],
  );
  const known = fc.dictionary(
    weighted(
      [2, fc.constantFrom(...JSON_KEYS)],
      [1, fc.string({ maxLength: 8 })],
      [1, stringArb()],
    ) as fc.Arbitrary<string>,
    weighted([4, leaf], [1, fc.array(leaf, { maxLength: 4 })]),
    { maxKeys: 8 },
  );
  const spec = fc.record(
    {
      width: weighted([3, fc.constant(8)], [1, intArb(true)]),
      height: weighted([3, fc.constant(8)], [1, intArb(true)]),
      channels: fc.constantFrom(1, 3, 2, 0, '1'),
      mean: fc.array(floatArb(), { maxLength: 3 }),
      std: fc.array(floatArb(), { maxLength: 3 }),
      resize: fc.constantFrom('resize', 'resize-crop', 'letterbox', 'stretch'),
      cropRatio: floatArb(),
      inputName: stringArb(),
    },
    { requiredKeys: ['width', 'height', 'channels'] },
  );
  return weighted(
    [3, fc.jsonValue({ maxDepth: 3 })],
    [3, known],
    [2, spec],
    [1, fc.constant(GRAY_MODEL.inputSpec)],
    [1, fc.constantFrom({}, [], 'x', 0, true, null)],
  );
}

/** A value of the wrong type, whatever the expected one. */
const wrongArb = (): Gen =>
  fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.integer(),
    fc.boolean(),
    fc.double(),
    fc.constantFrom({}, [], [null], { x: 1 }),
  );

function scalarArb(name: string, sloppy: boolean): Gen {
  switch (name) {
    case 'String':
      return stringArb();
    case 'ID':
      return weighted([3, stringArb()], [1, intArb()]);
    case 'Int':
      return intArb(sloppy);
    case 'Float':
      return floatArb();
    case 'Boolean':
      return fc.boolean();
    case 'JSON':
      return jsonArb();
    default:
      // Upload, DateTime or a scalar added later: anything JSON can carry.
      return weighted([3, fc.jsonValue({ maxDepth: 2 })], [1, stringArb()]);
  }
}

/**
 * A dictionary by argument and input-field name (any mutation's, present or future): values that
 * exist in the registry or pass the first checks, so that many cases get past validation into the
 * code behind it. Two thirds of the values of such a field come from here, the rest from its type.
 */
let HINTS: Record<string, Gen> = {};
function makeHints(paths: { repo: string; store: string }): Record<string, Gen> {
  const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);
  // Not gray8x8-3class-slow.onnx (about a second per image on 2 cores): once registered, the cases
  // that run models on it (measureVersionSpeed, comparisons, and above all optimizeVersion, whose
  // calibration runs it 65 times for the three images here: 43 tensors of up to 64 MB each) spend
  // minutes of inference that tell no more about input handling than the small graphs do.
  // inference.test.ts and limits.test.ts run it.
  const onnx = [
    'gray8x8-3class.onnx',
    'gray8x8-3class-batch1.onnx',
    'two-inputs.onnx',
    'png-renamed.onnx',
    'rgb-dynamic-4class.onnx',
  ].map(fixture);
  return {
    model: fc.constantFrom('gray', 'gray', 'gray', 'shapes'),
    alias: fc.constantFrom('baseline', 'champion', 'staging', 'candidate'),
    name: fc.oneof(name, fc.constantFrom('gray', 'shapes', 'fuzz-key')),
    version: fc.constantFrom(1, 2, 3),
    artifactPath: fc.constantFrom(...onnx),
    repoPath: fc.constantFrom(paths.repo, fixture('formats/dvc/example-get-started/head-dvc3')),
    trackingUri: fc.constantFrom(
      paths.store,
      pathToFileURL(paths.store).href,
      fixture('formats/mlflow/filestore-mlflow3.5/mlruns'),
    ),
    rev: fc.constantFrom('HEAD', 'HEAD~1', 'main', 'HEAD^{tree}'),
    dataset: fc.constantFrom('shapes-eval', 'shapes-eval@1', 'shapes-eval@2', 'shapes-eval@99999999999'),
    id: fc.constantFrom('1', '2', '3', '4'),
    labels: fc.constantFrom(GRAY_MODEL.labels, [...GRAY_MODEL.labels].reverse(), ['a', 'b', 'c', 'd']),
    inputSpec: fc.constantFrom<unknown>(
      GRAY_MODEL.inputSpec,
      { width: 8, height: 8, channels: 1 },
      { width: 8, height: 8, channels: 3, resize: 'resize-crop', cropRatio: 0.5 },
    ),
    experiment: fc.constantFrom('shapes', '1', '0'),
    registeredModel: fc.constantFrom('gray', 'shapes'),
    task: fc.constant('image-classification'),
    labelMapping: fc.constantFrom<unknown>(
      {},
      { circle: 'circle', square: 'square', triangle: 'triangle' },
      { circle: 'square', square: 'circle' },
    ),
    alpha: fc.constantFrom(0.05, 0.01),
    limit: fc.constantFrom(1, 2, 3, 100),
    nonInferiorityMargin: fc.constantFrom(0.01, 0),
    tags: fc.constantFrom<unknown>({ team: 'fuzz', epochs: 3, ok: true }, {}),
  };
}

/**
 * How a case's values are drawn. Sloppy values break the type now and then (a wrong type, a missing
 * required field, null for a non-null, an unknown field, an invalid enum or Int): any one of them
 * has GraphQL refuse the whole case before a resolver runs, so they come in their own share of the
 * cases rather than sprinkled over all. Sparse cases leave most optional fields out (each one
 * present is one more way to be refused early); dense ones give most of them.
 */
interface Mode {
  sloppy: boolean;
  sparse: boolean;
}

/** Values for a position of `type` (its non-null wrapper is the caller's business). */
function valueArb(type: GraphQLInputType, depth: number, mode: Mode): Gen {
  const { sloppy } = mode;
  if (isNonNullType(type)) return valueArb(type.ofType, depth, mode);
  if (isListType(type)) {
    const item = fieldArb(type.ofType, depth + 1, mode, { inList: true });
    // A single value is a list of one (GraphQL's input coercion).
    return weighted([8, fc.array(item, { maxLength: 5 })], [1, item]);
  }
  if (isEnumType(type)) {
    const values = type.getValues().map((v) => v.name);
    return sloppy
      ? weighted(
          [2, fc.constantFrom(...values)],
          [1, fc.constantFrom(...values.map((v) => v.toLowerCase()))],
          [1, stringArb()],
        )
      : fc.constantFrom(...values);
  }
  if (isScalarType(type)) return scalarArb(type.name, sloppy);
  if (isInputObjectType(type)) {
    if (depth > 4) return fc.constant({});
    const fields = Object.values(type.getFields());
    const record = fc.record(
      Object.fromEntries(fields.map((f) => [f.name, fieldArb(f.type, depth + 1, mode, { name: f.name })])),
    );
    const withoutOmitted = record.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== OMIT)));
    if (!sloppy) return withoutOmitted;
    const withExtra = fc
      .tuple(withoutOmitted, fc.constantFrom('unknownField', '__proto__', 'constructor', ''), jsonArb())
      .map(([r, k, v]) => ({ ...r, [k]: v }));
    return weighted([6, withoutOmitted], [1, withExtra], [1, wrongArb()]);
  }
  return fc.constant(null);
}

/** A field's (or argument's or list item's) value: its hints or its type; null or missing where allowed, and anything when sloppy. */
function fieldArb(
  type: GraphQLInputType,
  depth: number,
  mode: Mode,
  opts: { inList?: boolean; name?: string } = {},
): Gen {
  const hint = opts.name !== undefined ? HINTS[opts.name] : undefined;
  const value = hint ? weighted([2, hint], [1, valueArb(type, depth, mode)]) : valueArb(type, depth, mode);
  const absent = opts.inList ? fc.constant(null) : fc.constantFrom(null, OMIT);
  if (!isNonNullType(type))
    return mode.sparse && !opts.inList ? weighted([1, value], [3, absent]) : weighted([3, value], [1, absent]);
  return mode.sloppy ? weighted([6, value], [1, absent], [1, wrongArb()]) : value;
}

/** Every leaf of the returned object, and the leaves of the objects it holds (no field that needs arguments). */
function selection(type: GraphQLOutputType, depth: number): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (!isObjectType(named)) return ' { __typename }';
  const parts = ['__typename'];
  for (const f of Object.values(named.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined)) continue;
    if (isLeafType(getNamedType(f.type))) parts.push(f.name);
    else if (depth < 1) parts.push(f.name + selection(f.type, depth + 1));
  }
  return ` { ${parts.join(' ')} }`;
}

/** Apollo's refusal of the variables (a value not of its type), before the operation runs. */
const VARIABLES_REFUSED = 'variables refused';
function outcomeOf(result: GqlResult): string {
  const first = result.errors?.[0];
  if (!first) return 'data';
  if (first.extensions?.code === 'BAD_USER_INPUT' && first.message.startsWith('Variable "$')) return VARIABLES_REFUSED;
  return String(first.extensions?.code);
}

interface MutationCase {
  field: string;
  role: 'admin' | 'operator' | 'viewer';
  variables: Record<string, unknown>;
}

function mutationOperation(field: GraphQLField<unknown, unknown>): string {
  const defs = field.args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  return `mutation Fuzz${defs ? `(${defs})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection(field.type, 0)} }`;
}

function mutationCaseArb(field: GraphQLField<unknown, unknown>): fc.Arbitrary<MutationCase> {
  const variables = (mode: Mode) =>
    fc.record(Object.fromEntries(field.args.map((a) => [a.name, fieldArb(a.type, 0, mode, { name: a.name })])));
  const vars = weighted(
    [2, variables({ sloppy: false, sparse: true })],
    [2, variables({ sloppy: false, sparse: false })],
    [1, variables({ sloppy: true, sparse: false })],
  ) as fc.Arbitrary<Record<string, unknown>>;
  return fc.record({
    field: fc.constant(field.name),
    role: fc.constantFrom<MutationCase['role']>(
      'admin',
      'admin',
      'admin',
      'admin',
      'admin',
      'admin',
      'operator',
      'operator',
      'viewer',
      'viewer',
    ),
    // What a client sends is JSON: NaN and Infinity travel as null, like any JSON client would send them.
    variables: vars.map(
      (v) =>
        JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(v).filter(([, x]) => x !== OMIT)))) as Record<
          string,
          unknown
        >,
    ),
  });
}

// ---------------------------------------------------------------------------------------------
// Property 2: mutated image bytes
// ---------------------------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The PNG's IHDR width and height set to w x h, its CRC recomputed or left stale. Not a PNG: unchanged. */
function patchPngSize(b: Buffer, w: number, h: number, fixCrc: boolean): Buffer {
  if (b.length < 33 || b.toString('latin1', 12, 16) !== 'IHDR') return b;
  const out = Buffer.from(b);
  out.writeUInt32BE(w >>> 0, 16);
  out.writeUInt32BE(h >>> 0, 20);
  if (fixCrc) out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

/** The first JPEG frame header (SOF0-SOF15 but DHT, JPG, DAC) declaring h x w. Not a JPEG: unchanged. */
function patchJpegSize(b: Buffer, w: number, h: number): Buffer {
  if (b[0] !== 0xff || b[1] !== 0xd8) return b;
  const out = Buffer.from(b);
  for (let at = 2; at + 9 < out.length;) {
    if (out[at] !== 0xff) return out;
    const marker = out[at + 1]!;
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      out.writeUInt16BE(h & 0xffff, at + 5);
      out.writeUInt16BE(w & 0xffff, at + 7);
      return out;
    }
    at += 2 + out.readUInt16BE(at + 2);
  }
  return out;
}

/** WebP's canvas size: VP8X (24-bit minus one), or a VP8L / VP8 key frame's 14-bit fields. */
function patchWebpSize(b: Buffer, w: number, h: number): Buffer {
  if (b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WEBP' || b.length < 30) return b;
  const out = Buffer.from(b);
  const chunk = out.toString('latin1', 12, 16);
  if (chunk === 'VP8X') {
    out.writeUIntLE((w - 1) & 0xffffff, 24, 3);
    out.writeUIntLE((h - 1) & 0xffffff, 27, 3);
  } else if (chunk === 'VP8L') {
    out.writeUInt32LE(
      (((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14) | (out.readUInt32LE(21) & 0xf0000000)) >>> 0,
      21,
    );
  } else if (chunk === 'VP8 ') {
    out.writeUInt16LE(w & 0x3fff, 26);
    out.writeUInt16LE(h & 0x3fff, 28);
  }
  return out;
}

type Mutation =
  | { kind: 'flip'; bits: [number, number][] }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; from: number; length: number; to: number }
  | { kind: 'size'; w: number; h: number; fixCrc: boolean }
  | { kind: 'prepend'; bytes: Uint8Array };

const sizeArb = fc.constantFrom(
  0,
  1,
  8,
  16383,
  16384,
  65535,
  100000,
  1000000,
  2 ** 24,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
);
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('flip' as const),
      bits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 20 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 64 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('duplicate' as const),
      from: fc.nat(),
      length: fc.integer({ min: 1, max: 4096 }),
      to: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('size' as const), w: sizeArb, h: sizeArb, fixCrc: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('prepend' as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 512 }),
    }),
  },
);

function mutate(input: Buffer, m: Mutation): Buffer {
  const n = input.length;
  /** An offset from 0 to n inclusive. */
  const pos = (x: number) => x % (n + 1);
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(input);
      if (n === 0) return out;
      for (const [at, bit] of m.bits) out[at % n]! ^= 1 << bit;
      return out;
    }
    case 'truncate':
      return input.subarray(0, pos(m.at));
    case 'insert':
      return Buffer.concat([input.subarray(0, pos(m.at)), m.bytes, input.subarray(pos(m.at))]);
    case 'delete':
      return Buffer.concat([input.subarray(0, pos(m.at)), input.subarray(pos(m.at) + m.length)]);
    case 'duplicate': {
      const from = pos(m.from);
      const chunk = input.subarray(from, from + m.length);
      return Buffer.concat([input.subarray(0, pos(m.to)), chunk, input.subarray(pos(m.to))]);
    }
    case 'size':
      return patchWebpSize(patchJpegSize(patchPngSize(input, m.w, m.h, m.fixCrc), m.w, m.h), m.w, m.h);
    case 'prepend':
      return Buffer.concat([m.bytes, input]);
  }
}

const PREDICT =
  `query($ref: VersionRefInput!, $image: ImageInput!, $topK: Int) { predict(ref: $ref, image: $image, topK: $topK) ` +
  `{ top { index label probability } modelVersion { version } } }`;

// ---------------------------------------------------------------------------------------------

describe(`seeded fuzzing (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;
  let dir: string;
  const summary: Record<string, unknown> = { db: dbKind(), seed: SEED };
  const summaryFile = path.join(os.tmpdir(), `modelgate-fuzz-${dbKind()}.json`);
  /** What the app logs at level error: an unexpected failure is logged even where a client never sees it (a background job, an import item). */
  const logged: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(line) });
  const loggedErrors = () =>
    logged.splice(0).map((line) => {
      const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
      return `${entry.msg}: ${entry.err?.message?.trim().split('\n').pop() ?? ''}`;
    });

  /** gray's baseline (v1) and champion (v2): cases that move or remove them would leave later cases without a default route or a baseline. */
  const restoreAliases = async () => {
    for (const [alias, version] of [
      ['baseline', 1],
      ['champion', 2],
    ] as const)
      await t.app.services.aliases.set(t.app.localActor(), 'gray', alias, version);
  };

  beforeAll(async () => {
    // The fuzzer measures input handling, not fairness: no rate limit may answer for it.
    const defaults = loadConfig({ NODE_ENV: 'test' });
    t = await createTestApp({
      logger,
      config: { limits: { ...defaults.limits, rate: { viewer: 0, operator: 0, admin: 0 } } },
    });
    // Nothing the fuzzer sends can leave the machine, or read outside the repository and the temporary folder.
    expect(t.config.mlflow.allowedHosts).toEqual([]);
    const within = (root: string, p: string) => !path.relative(root, p).startsWith('..');
    expect(
      t.config.importRoots.filter((r) => !within(path.resolve(__dirname, '..', '..'), r) && !within(os.tmpdir(), r)),
    ).toEqual([]);
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-fuzz-'));
    const admin = t.app.localActor();
    const onnx = readFileSync(fixture('gray8x8-3class.onnx'));
    const png = readFileSync(path.join(FIXTURES, 'images', 'gray-29x31.png'));

    // The registry the fuzzer hits: gray v1 (baseline) and v2 (champion), a dataset of its labels.
    await t.app.services.models.register(admin, GRAY_MODEL);
    await t.app.services.versions.register(admin, { model: 'gray', artifactPath: fixture('gray8x8-3class.onnx') });
    await t.app.services.versions.register(admin, {
      model: 'gray',
      artifactPath: fixture('gray8x8-3class-batch1.onnx'),
    });
    const repo = path.join(dir, 'repo');
    writeDvcProject(repo, {
      workspace: false,
      models: [
        {
          name: 'shapes-v1',
          path: 'models/a.onnx',
          bytes: onnx,
          meta: { registeredModel: 'shapes', labels: GRAY_MODEL.labels, inputSpec: GRAY_MODEL.inputSpec, version: 1 },
        },
      ],
      datasets: [
        {
          name: 'shapes-eval',
          path: 'data/eval',
          files: {
            'labels.csv': 'path,label\nimg/1.png,0\nimg/2.png,1\nimg/3.png,2\n',
            'img/1.png': png,
            'img/2.png': Buffer.concat([png, Buffer.from([0])]),
            'img/3.png': Buffer.concat([png, Buffer.from([1])]),
          },
          meta: { labelsFile: 'labels.csv', labels: GRAY_MODEL.labels },
        },
      ],
    });
    expect(
      expectData(
        await t.gql(
          `mutation($p: String!) { importDvc(input: { repoPath: $p }) { failed } }`,
          { p: repo },
          t.keys.admin,
        ),
      ).importDvc.failed,
    ).toBe(0);
    await restoreAliases();
    // A git repository, so that revisions can be read.
    const git = gitIn(repo);
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'shapes');
    const store = path.join(dir, 'mlruns');
    writeMlflowStore(store, {
      experimentId: '1',
      experiment: 'shapes',
      runs: [
        {
          runId: 'a'.repeat(32),
          name: 'train',
          params: { lr: '0.1' },
          metrics: [['loss', 0.5, 1700000000000, 1]],
          model: { onnx },
        },
      ],
      registered: { name: 'gray', versions: [{ version: 1, runId: 'a'.repeat(32), aliases: ['staging'] }] },
    });
    // Comparisons started by the fuzzer really run (over three images).
    t.app.startWorkers();
    HINTS = makeHints({ repo, store });
    KNOWN_STRINGS.push(
      repo,
      `${repo}/`,
      path.join(repo, 'data'),
      store,
      pathToFileURL(store).href,
      dir,
      ...[
        'gray8x8-3class.onnx',
        'two-inputs.onnx',
        'png-renamed.onnx',
        'rgb-dynamic-4class.onnx',
        'images/rgb-12x8.png',
        'images',
        'formats/dvc/example-get-started',
        'formats/dvc/gto',
        'formats/mlflow/filestore-mlflow3.5',
        'formats/mlflow/filestore-mlflow2.8-eof-fixed',
      ].map(fixture),
    );
  }, 120_000);

  afterAll(async () => {
    writeFileSync(summaryFile, JSON.stringify(summary, null, 2));
    await server?.close();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const mutationFields = Object.values(buildGatewaySchema().getMutationType()!.getFields());

  const mutationCalls = `${MUTATION_RUNS} random-variable calls to every mutation`;
  const mutationOutcomes = 'with data or documented codes, never INTERNAL_SERVER_ERROR';
  it(`answers ${mutationCalls} (${mutationFields.length} from the schema) ${mutationOutcomes}`, async () => {
    const schema = buildGatewaySchema();
    const operations = new Map(mutationFields.map((f) => [f.name, mutationOperation(f)]));
    // The documents themselves are valid: what fails, fails on the variables or in the resolvers.
    for (const [name, op] of operations)
      expect([name, validate(schema, parse(op)).map((e) => e.message)]).toEqual([name, []]);
    const keys = { admin: t.keys.admin, operator: t.keys.operator, viewer: t.keys.viewer };
    const tally: Record<string, Record<string, number>> = Object.fromEntries(mutationFields.map((f) => [f.name, {}]));
    const worktree = () =>
      execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
        cwd: path.resolve(__dirname, '..', '..'),
      }).toString();
    const worktreeBefore = worktree();
    const started = Date.now();
    let tried = 0;
    // Where the time goes (written to the summary even when the test times out).
    const msPerMutation: Record<string, number> = {};
    const slowest: { field: string; ms: number; variables: string }[] = [];
    const property = fc.asyncProperty(fc.oneof(...mutationFields.map(mutationCaseArb)), async (c) => {
      tried++;
      const t0 = Date.now();
      const result = await t.gql(operations.get(c.field)!, c.variables, keys[c.role]);
      const ms = Date.now() - t0;
      msPerMutation[c.field] = (msPerMutation[c.field] ?? 0) + ms;
      slowest.push({ field: c.field, ms, variables: JSON.stringify(c.variables).slice(0, 300) });
      slowest.sort((a, b) => b.ms - a.ms).splice(10);
      tally[c.field]![outcomeOf(result)] = (tally[c.field]![outcomeOf(result)] ?? 0) + 1;
      const found = [...problems(result, DOCUMENTED), ...loggedErrors().map((e) => `logged: ${e}`)];
      if (found.length)
        throw new Error(
          `${c.field} as ${c.role}: ${found.join('; ')}\nresponse: ${JSON.stringify(result).slice(0, 2000)}`,
        );
      if (!result.errors?.length) await restoreAliases();
    });
    const record: Record<string, unknown> = { planned: MUTATION_RUNS, perMutation: tally, msPerMutation, slowest };
    summary.mutations = record;
    await fc.assert(property, { seed: SEED, numRuns: MUTATION_RUNS });
    Object.assign(record, { tried, ms: Date.now() - started });
    expect(tried).toBe(MUTATION_RUNS);
    // The fuzzer reached every resolver (most cases get past variable coercion), and many cases succeeded.
    let succeeded = 0;
    for (const f of mutationFields) {
      const { [VARIABLES_REFUSED]: refused = 0, data = 0, ...codes } = tally[f.name]!;
      const resolved = data + Object.values(codes).reduce((a, b) => a + b, 0);
      expect([f.name, resolved > refused]).toEqual([f.name, true]);
      succeeded += data;
    }
    expect(succeeded).toBeGreaterThan(MUTATION_RUNS / 20);
    // Comparisons the fuzzer started ended (or will end) with a code, never an unexpected failure.
    const failed = await t.app.db.prisma.comparison.findMany({ where: { status: 'FAILED' } });
    expect(
      failed.map((c) => JSON.stringify(c.error)).filter((e) => e.includes(ErrorCode.INTERNAL_SERVER_ERROR)),
    ).toEqual([]);
    expect(loggedErrors()).toEqual([]);
    // Nothing was written into the repository (imports read fixtures from it, in place).
    expect(worktree()).toBe(worktreeBefore);
    // The app still serves, in process and over HTTP.
    expect(expectData(await t.gql(`{ viewer { name } }`, {}, t.keys.viewer)).viewer.name).toMatch(/^test-viewer-/);
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    // Several mutations run models for real (measureVersionSpeed, optimizeVersion's calibration, the
    // comparisons they queue) on one inference worker, all on the small graphs: about a minute here;
    // the summary's msPerMutation and slowest show where the time goes.
  }, 300_000);

  const imageFiles = `${IMAGE_RUNS} mutated PNG, JPEG and WebP files sent to predict (base64, data: URL, multipart)`;
  const imageOutcomes = 'with a prediction, INVALID_IMAGE, PAYLOAD_TOO_LARGE or BAD_USER_INPUT';
  it(`answers ${imageFiles} ${imageOutcomes}`, async () => {
    const samples = path.resolve(__dirname, '..', '..', 'models', 'samples');
    const sources = [
      ...['rgb-12x8.png', 'rgb-37x23.jpg', 'rgb-12x8.webp', 'gray-29x31.png'].map((f) => ({
        name: f,
        bytes: readFileSync(path.join(FIXTURES, 'images', f)),
      })),
      ...readdirSync(samples)
        .filter((f) => f.endsWith('.png'))
        .map((f) => ({ name: `samples/${f}`, bytes: readFileSync(path.join(samples, f)) })),
    ];
    const url = `${server.url.replace('localhost', '127.0.0.1')}/graphql`;
    const ref = { model: 'gray', version: 1 };
    const viaHttp = async (bytes: Buffer): Promise<GqlResult> => {
      const body = new FormData();
      body.set('operations', JSON.stringify({ query: PREDICT, variables: { ref, image: { upload: null }, topK: 3 } }));
      body.set('map', JSON.stringify({ 0: ['variables.image.upload'] }));
      body.set('0', new Blob([bytes], { type: 'application/octet-stream' }), 'fuzz.bin');
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${t.keys.viewer}`, 'apollo-require-preflight': 'true' },
      });
      const text = await res.text();
      try {
        return JSON.parse(text) as GqlResult;
      } catch {
        return {
          errors: [
            { message: `HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`, extensions: { code: 'NOT_JSON' } },
          ],
        };
      }
    };
    const tally: Record<string, Record<string, number>> = {};
    const started = Date.now();
    let tried = 0;
    const caseArb = fc.record({
      source: fc.integer({ min: 0, max: sources.length - 1 }),
      mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
      via: fc.constantFrom('base64', 'base64', 'data URL', 'multipart'),
    });
    const property = fc.asyncProperty(caseArb, async (c) => {
      tried++;
      const src = sources[c.source]!;
      const bytes = c.mutations.reduce(mutate, src.bytes);
      const base64 =
        c.via === 'data URL' ? `data:image/png;base64,${bytes.toString('base64')}` : bytes.toString('base64');
      const result =
        c.via === 'multipart'
          ? await viaHttp(bytes)
          : await t.gql(PREDICT, { ref, image: { base64 }, topK: 3 }, t.keys.viewer);
      const outcome = result.errors?.length ? String(result.errors[0]!.extensions?.code) : 'prediction';
      const key = `${src.name} via ${c.via}`;
      tally[key] = { ...tally[key], [outcome]: (tally[key]?.[outcome] ?? 0) + 1 };
      const found = [...problems(result, IMAGE_CODES), ...loggedErrors().map((e) => `logged: ${e}`)];
      if (!found.length && !result.errors?.length && result.data?.predict?.top?.length !== 3)
        found.push('a prediction without its top 3');
      if (found.length)
        throw new Error(`${key} after ${c.mutations.map((m) => m.kind).join(', ')}: ${found.join('; ')}`);
    });
    const record: Record<string, unknown> = { planned: IMAGE_RUNS, perSource: tally };
    summary.images = record;
    await fc.assert(property, { seed: SEED, numRuns: IMAGE_RUNS });
    Object.assign(record, { tried, ms: Date.now() - started });
    expect(tried).toBe(IMAGE_RUNS);
    // Some mutants still decode, most do not: both paths were exercised.
    const outcomes = Object.values(tally).flatMap((o) => Object.keys(o));
    expect(outcomes).toEqual(expect.arrayContaining(['prediction', ErrorCode.INVALID_IMAGE]));
    // No preprocessing thread died, and the app still predicts.
    const ok = expectData(
      await t.gql(PREDICT, { ref, image: { base64: sources[0]!.bytes.toString('base64') }, topK: 3 }, t.keys.viewer),
    );
    expect(ok.predict.top).toHaveLength(3);
    expect(loggedErrors()).toEqual([]);
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
  }, 300_000);
});
