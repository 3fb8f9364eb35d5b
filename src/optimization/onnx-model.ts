import { onnx } from 'onnx-proto';

/**
 * Reading and writing ONNX graphs with the official onnx.proto bindings (onnx-proto). Only what the
 * quantizer needs: tensors as typed arrays, new initializers and nodes, and attribute lookup.
 */
export type Model = onnx.ModelProto;
export type Graph = onnx.IGraphProto;
export type Node = onnx.INodeProto;
export type Tensor = onnx.ITensorProto;

export const DataType = onnx.TensorProto.DataType;
const AttrType = onnx.AttributeProto.AttributeType;

export function decodeModel(bytes: Uint8Array): Model {
  return onnx.ModelProto.decode(bytes);
}

export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** protobufjs returns int64 fields as Long objects (or numbers when they fit). */
export function num(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function dimsOf(t: Tensor): number[] {
  return (t.dims ?? []).map(num);
}

export function elementCount(t: Tensor): number {
  return dimsOf(t).reduce((a, b) => a * b, 1);
}

/** Copies raw little-endian bytes into an aligned typed array. */
function fromRaw<T>(raw: Uint8Array, bytesPer: number, make: (buf: ArrayBuffer) => T): T {
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  if (copy.byteLength % bytesPer) throw new Error('raw tensor data has a partial element');
  return make(copy.buffer);
}

export function floatData(t: Tensor): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new Error(`tensor ${t.name} is not float32`);
  if (t.rawData?.length) return fromRaw(t.rawData, 4, (b) => new Float32Array(b));
  return Float32Array.from(t.floatData ?? []);
}

/** The values of an integer or float tensor as numbers (scales, zero points, quantized weights). */
export function numericData(t: Tensor): Float64Array {
  const raw = t.rawData?.length ? t.rawData : null;
  switch (t.dataType) {
    case DataType.FLOAT:
      return Float64Array.from(floatData(t));
    case DataType.INT8:
      return Float64Array.from(raw ? fromRaw(raw, 1, (b) => new Int8Array(b)) : (t.int32Data ?? []));
    case DataType.UINT8:
      return Float64Array.from(raw ? fromRaw(raw, 1, (b) => new Uint8Array(b)) : (t.int32Data ?? []));
    case DataType.INT32:
      return Float64Array.from(raw ? fromRaw(raw, 4, (b) => new Int32Array(b)) : (t.int32Data ?? []));
    case DataType.INT64:
      return Float64Array.from(
        raw
          ? Array.from(
              fromRaw(raw, 8, (b) => new BigInt64Array(b)),
              Number,
            )
          : (t.int64Data ?? []).map(num),
      );
    default:
      throw new Error(`tensor ${t.name}: data type ${t.dataType} is not read by the quantizer`);
  }
}

function tensor(name: string, dims: number[], dataType: number, bytes: ArrayBufferView): onnx.TensorProto {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType,
    rawData: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  });
}

export const floatTensor = (name: string, dims: number[], data: Float32Array) =>
  tensor(name, dims, DataType.FLOAT, data);
export const int8Tensor = (name: string, dims: number[], data: Int8Array) => tensor(name, dims, DataType.INT8, data);
export const uint8Tensor = (name: string, dims: number[], data: Uint8Array) => tensor(name, dims, DataType.UINT8, data);
export const int32Tensor = (name: string, dims: number[], data: Int32Array) => tensor(name, dims, DataType.INT32, data);

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attributes: Record<string, number> = {},
  domain = '',
): onnx.NodeProto {
  return onnx.NodeProto.create({
    opType,
    input: inputs,
    output: outputs,
    name,
    domain,
    attribute: Object.entries(attributes).map(([k, i]) =>
      onnx.AttributeProto.create({ name: k, type: AttrType.INT, i }),
    ),
  });
}

export function intAttr(n: Node, name: string, fallback: number): number {
  const a = n.attribute?.find((x) => x.name === name);
  return a ? num(a.i) : fallback;
}

export function floatAttr(n: Node, name: string, fallback: number): number {
  const a = n.attribute?.find((x) => x.name === name);
  return a ? (a.f ?? fallback) : fallback;
}

export function floatOutput(name: string): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: DataType.FLOAT }) }),
  });
}

/** The opset version of the default ONNX domain. */
export function defaultOpset(model: Model): number {
  const entry = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? num(entry.version) : 0;
}

/** The element type of a graph input or output, or null when it is not a tensor. */
export function elemType(v: onnx.IValueInfoProto): number | null {
  return v.type?.tensorType?.elemType ?? null;
}
