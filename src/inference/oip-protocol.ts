import { z } from 'zod';

/**
 * The Open Inference Protocol v2 over HTTP/REST (KServe v2, Triton) as the gateway speaks it: the
 * infer request with FP32 input as JSON or with the binary tensor data extension, the infer response,
 * the model metadata, and the check of that metadata against a version's signature.
 * Specs: kserve/open-inference-protocol specification/protocol/inference_rest.md;
 * triton-inference-server/server docs/protocol/extension_binary_data.md.
 */

/** The header that gives the JSON part's length when binary tensor data follows it. */
export const HEADER_LENGTH = 'inference-header-content-length';

export interface Tensor {
  data: Float32Array;
  dims: number[];
}

const parameters = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional();

// Element values may be given nested (the tensor's natural shape) or flattened.
type Nested = number | boolean | Nested[];
const nested: z.ZodType<Nested> = z.lazy(() => z.union([z.number(), z.boolean(), z.array(nested)]));

const metadataTensor = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number().int()) });
export const modelMetadata = z.object({
  name: z.string(),
  versions: z.array(z.string()).optional(),
  platform: z.string().optional(),
  inputs: z.array(metadataTensor),
  outputs: z.array(metadataTensor),
});
export type ModelMetadata = z.infer<typeof modelMetadata>;

const responseOutput = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  datatype: z.string(),
  parameters,
  data: nested.optional(),
});
const inferResponse = z.object({ model_name: z.string().optional(), outputs: z.array(responseOutput) });

/** `{"error": "..."}`, the protocol's error body; null when the body is something else. */
export function errorMessage(body: string): string | null {
  try {
    const parsed = z.object({ error: z.string() }).safeParse(JSON.parse(body));
    return parsed.success ? parsed.data.error : null;
  } catch {
    return null;
  }
}

/** An infer request for one FP32 input, asking for `outputs`; binary: the tensor bytes follow the JSON. */
export function encodeInferRequest(
  input: { name: string } & Tensor,
  outputs: readonly string[],
  binary: boolean,
): { body: Buffer; headers: Record<string, string> } {
  if (!binary) {
    const json = {
      inputs: [{ name: input.name, shape: input.dims, datatype: 'FP32', data: Array.from(input.data) }],
      outputs: outputs.map((name) => ({ name })),
    };
    return { body: Buffer.from(JSON.stringify(json)), headers: { 'content-type': 'application/json' } };
  }
  const bytes = Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: input.name,
          shape: input.dims,
          datatype: 'FP32',
          parameters: { binary_data_size: bytes.length },
        },
      ],
      outputs: outputs.map((name) => ({ name, parameters: { binary_data: true } })),
    }),
  );
  return {
    body: Buffer.concat([header, littleEndian(bytes)]),
    headers: { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: String(header.length) },
  };
}

/** The protocol's binary data is little-endian; so is every machine the gateway runs on, but say so. */
function littleEndian(bytes: Buffer): Buffer {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  const copy = Buffer.from(bytes);
  copy.swap32();
  return copy;
}

const flatten = (v: Nested | undefined): number[] =>
  v === undefined ? [] : Array.isArray(v) ? v.flatMap(flatten) : [Number(v)];

/** Element decoders of the binary data for the numeric datatypes a classifier's output may have. */
const BINARY: Record<string, { size: number; read: (b: Buffer, offset: number) => number }> = {
  FP32: { size: 4, read: (b, o) => b.readFloatLE(o) },
  FP64: { size: 8, read: (b, o) => b.readDoubleLE(o) },
};

/**
 * The requested outputs of an infer response (JSON, or JSON followed by binary data when
 * `headerLength` is given) as FP32 tensors. Throws when one is missing, malformed or not numeric.
 */
export function decodeInferResponse(
  body: Buffer,
  headerLength: number | null,
  wanted: readonly string[],
): Record<string, Tensor> {
  const jsonEnd = headerLength ?? body.length;
  if (!Number.isInteger(jsonEnd) || jsonEnd < 0 || jsonEnd > body.length)
    throw new Error(`the response's ${HEADER_LENGTH} (${headerLength}) does not fit its ${body.length} bytes`);
  const parsed = inferResponse.safeParse(JSON.parse(body.subarray(0, jsonEnd).toString('utf8')));
  if (!parsed.success) throw new Error(`the infer response is not the protocol's: ${parsed.error.issues[0]?.message}`);
  const result: Record<string, Tensor> = {};
  let offset = jsonEnd;
  // Binary parts follow the JSON in the order of the outputs that have them.
  for (const out of parsed.data.outputs) {
    const count = out.shape.reduce((a, b) => a * b, 1);
    const size = out.parameters?.binary_data_size;
    let values: Float32Array;
    if (size !== undefined) {
      const codec = BINARY[out.datatype];
      if (typeof size !== 'number' || offset + size > body.length)
        throw new Error(`output "${out.name}" claims ${String(size)} bytes of binary data the response does not hold`);
      if (!codec) throw new Error(`output "${out.name}" has datatype ${out.datatype}, expected FP32 or FP64`);
      if (size !== count * codec.size)
        throw new Error(
          `output "${out.name}" has ${size} bytes for shape [${out.shape.join(', ')}] of ${out.datatype}`,
        );
      values = new Float32Array(count);
      for (let i = 0; i < count; i++) values[i] = codec.read(body, offset + i * codec.size);
      offset += size;
    } else {
      if (!BINARY[out.datatype])
        throw new Error(`output "${out.name}" has datatype ${out.datatype}, expected FP32 or FP64`);
      const flat = flatten(out.data);
      if (flat.length !== count)
        throw new Error(`output "${out.name}" has ${flat.length} values for shape [${out.shape.join(', ')}]`);
      values = Float32Array.from(flat);
    }
    result[out.name] = { data: values, dims: out.shape };
  }
  const missing = wanted.filter((n) => !result[n]);
  if (missing.length) throw new Error(`the infer response lacks the output(s) ${missing.join(', ')}`);
  return result;
}

/** The protocol's name for an ONNX element type, as the registry records it. */
const DATATYPES: Record<string, string> = {
  float32: 'FP32',
  float16: 'FP16',
  float64: 'FP64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  bool: 'BOOL',
  string: 'BYTES',
};

interface SignatureTensor {
  name: string;
  type: string | null;
  shape: (number | string)[];
}

/**
 * What the remote model must offer for a version: its image input and score output with the same
 * datatypes and shapes as the version's graph (a dimension the graph leaves dynamic must be dynamic
 * there too, -1; one the graph fixes may be fixed alike or dynamic). Returns the problems, none when it fits.
 */
export function metadataProblems(
  meta: ModelMetadata,
  expected: { input: SignatureTensor; output: SignatureTensor },
): string[] {
  const problems: string[] = [];
  const check = (kind: 'input' | 'output', want: SignatureTensor, offered: ModelMetadata['inputs']) => {
    const got = offered.find((t) => t.name === want.name);
    if (!got) {
      problems.push(
        `the remote model has no ${kind} "${want.name}" (its ${kind}s: ${offered.map((t) => `"${t.name}"`).join(', ') || 'none'})`,
      );
      return;
    }
    const datatype = want.type ? (DATATYPES[want.type] ?? want.type.toUpperCase()) : null;
    if (datatype !== got.datatype)
      problems.push(
        `${kind} "${want.name}" is ${got.datatype} remotely but ${datatype ?? 'not a tensor'} in the version`,
      );
    const wantShape = want.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
    const fits =
      wantShape.length === got.shape.length && wantShape.every((d, i) => got.shape[i] === -1 || got.shape[i] === d);
    if (!fits)
      problems.push(
        `${kind} "${want.name}" has shape [${got.shape.join(', ')}] remotely but [${wantShape.join(', ')}] in the version`,
      );
  };
  check('input', expected.input, meta.inputs);
  check('output', expected.output, meta.outputs);
  return problems;
}
