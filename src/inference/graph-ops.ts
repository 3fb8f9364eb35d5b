import { readFile } from 'node:fs/promises';

/**
 * The operator types of an ONNX graph's top-level nodes, read straight from the protobuf wire
 * format (ModelProto.graph = field 7, GraphProto.node = field 1, NodeProto.op_type = field 4):
 * onnxruntime does not expose them, and a full ONNX protobuf library would be a large dependency
 * for three field numbers.
 */
export async function graphOps(file: string): Promise<Set<string>> {
  const buf = await readFile(file);
  const ops = new Set<string>();
  const graph = fields(buf, 0, buf.length).find((f) => f.field === 7 && f.wire === 2);
  if (!graph) return ops;
  for (const node of fields(buf, graph.start, graph.end)) {
    if (node.field !== 1 || node.wire !== 2) continue;
    const op = fields(buf, node.start, node.end).find((f) => f.field === 4 && f.wire === 2);
    if (op) ops.add(buf.toString('utf8', op.start, op.end));
  }
  return ops;
}

interface Field {
  field: number;
  wire: number;
  /** For length-delimited fields: the payload's bounds. */
  start: number;
  end: number;
}

function varint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [result, pos];
    shift += 7;
    if (shift > 63) throw new Error('varint too long');
  }
}

function fields(buf: Buffer, start: number, end: number): Field[] {
  const out: Field[] = [];
  let pos = start;
  while (pos < end) {
    const [key, next] = varint(buf, pos);
    pos = next;
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) pos = varint(buf, pos)[1];
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, after] = varint(buf, pos);
      out.push({ field, wire, start: after, end: after + len });
      pos = after + len;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (pos > end) throw new Error('truncated protobuf field');
  }
  return out;
}

/**
 * Weight-only int8 (int8 initializers → DequantizeLinear → fp32 ops, activations never quantized):
 * onnxruntime must fold the DequantizeLinear nodes (`session.disable_quant_qdq`), or it keeps them
 * for QDQ fusion and runs ~1.8x slower. A statically quantized graph (QuantizeLinear on activations,
 * integer ops) must keep them: folding would disable its int8 kernels.
 */
export function isWeightOnlyQuantized(ops: Set<string>): boolean {
  if (!ops.has('DequantizeLinear')) return false;
  const integerOps = [
    'QuantizeLinear',
    'DynamicQuantizeLinear',
    'QLinearConv',
    'QLinearMatMul',
    'ConvInteger',
    'MatMulInteger',
  ];
  return !integerOps.some((op) => ops.has(op));
}
