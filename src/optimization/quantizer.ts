import { setImmediate as nextTurn } from 'node:timers/promises';
import { onnx } from 'onnx-proto';
import { TensorRange, uint8Params } from './calibration';
import { int8Refusal, QuantizationRefused, type CalibrationMethod, type Int8Plan, type Int8Result } from './int8';
import {
  DataType,
  decodeModel,
  defaultOpset,
  dimsOf,
  elemType,
  encodeModel,
  floatAttr,
  floatData,
  floatOutput,
  floatTensor,
  int32Tensor,
  int8Tensor,
  intAttr,
  node,
  numericData,
  uint8Tensor,
  type Model,
  type Node,
  type Tensor,
} from './onnx-model';

export const QUANTIZER_TOOL = 'modelgate int8 QDQ quantizer 1 (uint8 per-tensor activations, int8 per-channel weights)';

/** Ops whose output is quantized with their input's scale and zero point (onnxruntime drops such Q/DQ pairs). */
const SHARES_INPUT_PARAMS = new Set(['MaxPool', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity']);
/** Quantized ops whose output gets its own calibrated scale. */
const OWN_OUTPUT_PARAMS = new Set(['Conv', 'Add', 'AveragePool', 'GlobalAveragePool', 'Concat']);

interface QTensor {
  /** Calibrated itself, or quantized with the parameters of the tensor it was copied from. */
  from: string | null;
}

class Plan implements Int8Plan {
  constructor(
    readonly calibrationModel: Uint8Array,
    readonly inputName: string,
    readonly tensors: readonly string[],
    readonly quantizableNodes: number,
    readonly foldedDequantize: number,
    /** The fp32 graph after folding, before the calibration outputs were added. */
    readonly model: Model,
    readonly quantized: ReadonlyMap<string, QTensor>,
    /** Calibration output name → tensor it reads. */
    readonly aliases: ReadonlyMap<string, string>,
    /** Nodes that run as int8 (by index in model.graph.node). */
    readonly int8Nodes: ReadonlySet<number>,
    /** Relu nodes folded into their producer's quantization (uint8 with zero point 0 clips at 0). */
    readonly foldedRelus: ReadonlyMap<number, string>,
  ) {}
}

export function planInt8(source: Uint8Array): Int8Plan {
  let model: Model;
  try {
    model = decodeModel(source);
  } catch (e) {
    throw new QuantizationRefused('NOT_FLOAT', `not an ONNX model: ${(e as Error).message}`);
  }
  const graph = model.graph;
  if (!graph) throw new QuantizationRefused('NOT_FLOAT', 'the ONNX model has no graph');
  const nodes = graph.node ?? [];
  const foreign = nodes.filter((n) => n.domain && n.domain !== 'ai.onnx').map((n) => `${n.domain}:${n.opType}`);
  const refusal =
    foreign.length > 0
      ? new QuantizationRefused(
          'UNSUPPORTED_OPERATORS',
          `the graph has custom-domain operators the int8 quantizer cannot handle safely: ${[...new Set(foreign)].join(', ')}`,
          [...new Set(foreign)],
        )
      : int8Refusal(new Set(nodes.map((n) => n.opType ?? '')));
  if (refusal) throw refusal;
  const opset = defaultOpset(model);
  if (opset < 13)
    throw new QuantizationRefused(
      'UNSUPPORTED_OPERATORS',
      `the graph uses ONNX opset ${opset}; per-channel int8 weights need opset 13 or later (re-export it with opset 13+)`,
    );

  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const inputs = (graph.input ?? []).filter((i) => !inits.has(i.name ?? ''));
  if (inputs.length !== 1)
    throw new QuantizationRefused('NOT_FLOAT', `the graph has ${inputs.length} inputs; an image classifier has one`);
  const input = inputs[0]!;
  if (elemType(input) !== DataType.FLOAT) throw new QuantizationRefused('NOT_FLOAT', 'the graph input is not float32');
  for (const o of graph.output ?? [])
    if (elemType(o) !== DataType.FLOAT) throw new QuantizationRefused('NOT_FLOAT', `output ${o.name} is not float32`);

  const folded = foldWeightDequantize(model, inits);
  const consumers = new Map<string, number[]>();
  const producer = new Map<string, number>();
  model.graph!.node!.forEach((n, i) => {
    for (const t of n.input ?? []) if (t) consumers.set(t, [...(consumers.get(t) ?? []), i]);
    for (const t of n.output ?? []) producer.set(t, i);
  });
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const isActivation = (t: string | undefined | null): t is string => !!t && !inits.has(t);
  const isFloatInit = (t: string | undefined | null) => !!t && inits.get(t)?.dataType === DataType.FLOAT;

  const all = model.graph!.node!;
  const int8Nodes = new Set<number>();
  all.forEach((n, i) => {
    const ins = n.input ?? [];
    switch (n.opType) {
      case 'Conv':
        if (isActivation(ins[0]) && isFloatInit(ins[1]) && (!ins[2] || isFloatInit(ins[2]))) int8Nodes.add(i);
        break;
      case 'Gemm':
        if (
          isActivation(ins[0]) &&
          isFloatInit(ins[1]) &&
          (!ins[2] || isFloatInit(ins[2])) &&
          intAttr(n, 'transA', 0) === 0 &&
          floatAttr(n, 'alpha', 1) === 1 &&
          floatAttr(n, 'beta', 1) === 1
        )
          int8Nodes.add(i);
        break;
      case 'MatMul':
        if (isActivation(ins[0]) && isFloatInit(ins[1]) && dimsOf(inits.get(ins[1]!)!).length === 2) int8Nodes.add(i);
        break;
      case 'Add':
      case 'Concat':
        if (ins.length > 0 && ins.every(isActivation)) int8Nodes.add(i);
        break;
      case 'MaxPool':
        if (isActivation(ins[0]) && (n.output ?? []).length === 1) int8Nodes.add(i);
        break;
      case 'AveragePool':
      case 'GlobalAveragePool':
        if (isActivation(ins[0])) int8Nodes.add(i);
        break;
    }
  });
  if (int8Nodes.size === 0)
    throw new QuantizationRefused(
      'UNSUPPORTED_OPERATORS',
      'no node of the graph can run as int8 (weights must be initializers)',
    );

  // A Relu after a quantized Conv/Add is folded into the quantization (as onnxruntime's quantizer does).
  const foldedRelus = new Map<number, string>();
  const outName = new Map<number, string>();
  for (const i of int8Nodes) {
    const n = all[i]!;
    if (n.opType !== 'Conv' && n.opType !== 'Add') continue;
    const out = n.output![0]!;
    const cs = consumers.get(out) ?? [];
    if (cs.length === 1 && all[cs[0]!]!.opType === 'Relu' && !outputs.has(out)) {
      foldedRelus.set(cs[0]!, out);
      outName.set(i, all[cs[0]!]!.output![0]!);
    }
  }

  const quantized = new Map<string, QTensor>();
  const need = (t: string): void => {
    if (quantized.has(t)) return;
    const p = producer.get(t);
    const pn = p === undefined ? null : all[p]!;
    if (pn && SHARES_INPUT_PARAMS.has(pn.opType ?? '') && isActivation(pn.input?.[0]) && pn.output?.length === 1) {
      need(pn.input![0]!);
      quantized.set(t, { from: pn.input![0]! });
    } else quantized.set(t, { from: null });
  };
  for (const i of int8Nodes) {
    const n = all[i]!;
    const activations = n.opType === 'Add' || n.opType === 'Concat' ? n.input! : [n.input![0]!];
    // A folded Relu's input had the Relu as its only reader, so no input here is a pre-Relu tensor.
    for (const t of activations) need(t);
    if (OWN_OUTPUT_PARAMS.has(n.opType ?? '')) {
      const out = outName.get(i) ?? n.output![0]!;
      if (!outputs.has(out)) need(out);
    }
  }

  // The calibration graph: every calibrated tensor becomes an output (the graph input through an
  // Identity, since onnxruntime does not return an input as an output).
  const aliases = new Map<string, string>();
  const extraNodes: onnx.NodeProto[] = [];
  for (const [t, q] of quantized) {
    if (q.from !== null) continue;
    if (t === input.name) {
      const alias = `${t}__calibration`;
      extraNodes.push(node('Identity', [t], [alias], `${alias}_Identity`));
      aliases.set(alias, t);
    } else aliases.set(t, t);
  }
  const calibration = onnx.ModelProto.create({
    ...model,
    graph: onnx.GraphProto.create({
      ...model.graph,
      node: [...extraNodes, ...all],
      output: [
        ...(graph.output ?? []),
        ...[...aliases.keys()].filter((a) => !outputs.has(a)).map((a) => floatOutput(a)),
      ],
    }),
  });
  return new Plan(
    encodeModel(calibration),
    input.name ?? '',
    [...aliases.keys()],
    int8Nodes.size,
    folded,
    model,
    quantized,
    aliases,
    int8Nodes,
    foldedRelus,
  );
}

/** Weight-only int8 (int8 initializer → DequantizeLinear) back to fp32 initializers, in place. */
function foldWeightDequantize(model: Model, inits: Map<string, Tensor>): number {
  const graph = model.graph!;
  const kept: Node[] = [];
  let folded = 0;
  for (const n of graph.node ?? []) {
    if (n.opType !== 'DequantizeLinear') {
      kept.push(n);
      continue;
    }
    const [q, s, z] = n.input ?? [];
    const qt = q ? inits.get(q) : undefined;
    const st = s ? inits.get(s) : undefined;
    if (!qt || !st)
      throw new QuantizationRefused(
        'ALREADY_STATIC',
        'the graph dequantizes activations (a DequantizeLinear on a computed tensor): it is already quantized',
        ['DequantizeLinear'],
      );
    const zt = z ? inits.get(z) : undefined;
    const values = numericData(qt);
    const scale = numericData(st);
    const zero = zt ? numericData(zt) : new Float64Array(scale.length);
    const dims = dimsOf(qt);
    const axis = (intAttr(n, 'axis', 1) + dims.length) % Math.max(1, dims.length);
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const channels = scale.length > 1 ? dims[axis]! : 1;
    const out = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const c = channels > 1 ? Math.floor(i / inner) % channels : 0;
      out[i] = (values[i]! - zero[c]!) * scale[c]!;
    }
    const name = n.output![0]!;
    const t = floatTensor(name, dims, out);
    inits.set(name, t);
    graph.initializer!.push(t);
    folded++;
  }
  graph.node = kept;
  dropUnused(graph, inits);
  return folded;
}

/** Removes initializers no node reads (and that are not graph outputs). */
function dropUnused(graph: onnx.IGraphProto, inits?: Map<string, Tensor>): void {
  const used = new Set<string>();
  for (const n of graph.node ?? []) for (const t of n.input ?? []) used.add(t);
  for (const o of graph.output ?? []) used.add(o.name ?? '');
  const dropped = new Set<string>();
  graph.initializer = (graph.initializer ?? []).filter((t) => {
    if (used.has(t.name ?? '')) return true;
    dropped.add(t.name ?? '');
    inits?.delete(t.name ?? '');
    return false;
  });
  // Older exporters list initializers among the inputs too: a dropped one must not stay an input.
  graph.input = (graph.input ?? []).filter((i) => !dropped.has(i.name ?? ''));
}

/** The source as a plain fp32 graph: weight-only DequantizeLinear folded (what planInt8 calibrates). */
export function floatModel(plan: Int8Plan): Uint8Array {
  if (!(plan instanceof Plan)) throw new Error('floatModel needs a plan from planInt8');
  return encodeModel(plan.model);
}

export class Calibrator {
  items = 0;
  private readonly ranges = new Map<string, TensorRange>();

  constructor(readonly plan: Int8Plan) {
    if (!(plan instanceof Plan)) throw new Error('Calibrator needs a plan from planInt8');
    for (const t of plan.aliases.values()) this.ranges.set(t, new TensorRange());
  }

  /** One batch's values of every calibrated tensor (`plan.tensors`) at once, and the batch counted. */
  add(outputs: Record<string, { data: Float32Array; dims: number[] }>, batch: number): void {
    const plan = this.plan as Plan;
    for (const alias of plan.aliases.keys())
      if (!outputs[alias]) throw new Error(`calibration output ${alias} is missing`);
    for (const [range, data] of this.targets(outputs)) range.add(data);
    this.countItems(batch);
  }

  /**
   * Values of some of the calibrated tensors: a graph with large activations is calibrated a few
   * tensors per run, so that one run's outputs stay within a memory budget. The optimization job runs
   * on the gateway's thread: the histograms are filled a slice at a time, between turns of its event
   * loop (TensorRange.addInSlices), so that requests are still served while a large graph calibrates.
   */
  async observe(outputs: Record<string, { data: Float32Array; dims: number[] }>): Promise<void> {
    for (const [range, data] of this.targets(outputs)) await range.addInSlices(data, nextTurn);
  }

  /** Each output's range (every name checked first). */
  private targets(outputs: Record<string, { data: Float32Array; dims: number[] }>): [TensorRange, Float32Array][] {
    const plan = this.plan as Plan;
    return Object.entries(outputs).map(([alias, out]) => {
      const tensor = plan.aliases.get(alias);
      if (tensor === undefined) throw new Error(`${alias} is not a calibration output`);
      return [this.ranges.get(tensor)!, out.data];
    });
  }

  /** Images whose tensors have all been observed. */
  countItems(n: number): void {
    this.items += n;
  }

  range(tensor: string): TensorRange | undefined {
    return this.ranges.get(tensor);
  }
}

export function buildInt8(plan: Int8Plan, calibrator: Calibrator, method: CalibrationMethod): Int8Result {
  if (!(plan instanceof Plan) || calibrator.plan !== plan)
    throw new Error('buildInt8 needs the plan its calibrator used');
  if (calibrator.items === 0)
    throw new Error('no calibration data: run at least one image through the calibration graph');
  const graph = plan.model.graph!;
  const all = graph.node!;
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const added: Tensor[] = [];

  const params = new Map<string, { scale: number; zeroPoint: number }>();
  const paramsOf = (t: string): { scale: number; zeroPoint: number } => {
    const known = params.get(t);
    if (known) return known;
    const q = plan.quantized.get(t)!;
    const p = q.from !== null ? paramsOf(q.from) : uint8Params(calibrator.range(t)!.range(method));
    params.set(t, p);
    return p;
  };
  const qdq = (t: string): Node[] => {
    const { scale, zeroPoint } = paramsOf(t);
    added.push(floatTensor(`${t}_scale`, [], Float32Array.of(scale)));
    added.push(uint8Tensor(`${t}_zero_point`, [], Uint8Array.of(zeroPoint)));
    return [
      node('QuantizeLinear', [t, `${t}_scale`, `${t}_zero_point`], [`${t}_quantized`], `${t}_QuantizeLinear`),
      node('DequantizeLinear', [`${t}_quantized`, `${t}_scale`, `${t}_zero_point`], [dq(t)], `${t}_DequantizeLinear`),
    ];
  };
  const dq = (t: string) => `${t}_dequantized`;

  const weights = new Map<string, { name: string; scales: Float64Array }>();
  const quantizeWeight = (w: string, axis: number | null): { name: string; scales: Float64Array } => {
    const key = `${w}:${axis}`;
    const done = weights.get(key);
    if (done) return done;
    const t = inits.get(w)!;
    const values = floatData(t);
    const dims = dimsOf(t);
    const channels = axis === null ? 1 : dims[axis]!;
    const inner = axis === null ? values.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const scales = new Float64Array(channels);
    for (let i = 0; i < values.length; i++) {
      const c = axis === null ? 0 : Math.floor(i / inner) % channels;
      scales[c] = Math.max(scales[c]!, Math.abs(values[i]!));
    }
    for (let c = 0; c < channels; c++) scales[c] = scales[c]! > 0 ? Math.fround(scales[c]! / 127) : 1;
    const q = new Int8Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const c = axis === null ? 0 : Math.floor(i / inner) % channels;
      q[i] = Math.max(-127, Math.min(127, Math.round(values[i]! / scales[c]!)));
    }
    const name = `${w}_quantized${axis === null ? '' : `_axis${axis}`}`;
    const scaleDims = axis === null ? [] : [channels];
    added.push(int8Tensor(name, dims, q));
    added.push(floatTensor(`${name}_scale`, scaleDims, Float32Array.from(scales)));
    added.push(int8Tensor(`${name}_zero_point`, scaleDims, new Int8Array(channels)));
    const result = { name, scales };
    weights.set(key, result);
    return result;
  };
  const weightDq = (w: { name: string }, axis: number | null): Node =>
    node(
      'DequantizeLinear',
      [w.name, `${w.name}_scale`, `${w.name}_zero_point`],
      [dq(w.name)],
      `${w.name}_DequantizeLinear`,
      axis === null ? {} : { axis },
    );

  const reluOutput = new Map([...plan.foldedRelus].map(([j, pre]) => [pre, all[j]!.output![0]!]));
  const out: Node[] = [];
  const rewritten = (t: string) => (plan.quantized.has(t) ? dq(t) : t);
  for (const i of graph.input ?? []) if (plan.quantized.has(i.name ?? '')) out.push(...qdq(i.name!));
  all.forEach((n, i) => {
    if (plan.foldedRelus.has(i)) return;
    const copy = onnx.NodeProto.create({ ...n, input: [...(n.input ?? [])], output: [...(n.output ?? [])] });
    // A folded Relu's output is now written by its producer.
    const reluOut = reluOutput.get(n.output?.[0] ?? '');
    if (reluOut) copy.output![0] = reluOut;
    copy.input = copy.input!.map((t, k) =>
      plan.int8Nodes.has(i) && (n.opType === 'Conv' || n.opType === 'Gemm' || n.opType === 'MatMul') && k > 0
        ? t
        : rewritten(t),
    );
    if (plan.int8Nodes.has(i) && (n.opType === 'Conv' || n.opType === 'Gemm' || n.opType === 'MatMul')) {
      const axis = n.opType === 'Conv' ? 0 : n.opType === 'Gemm' ? (intAttr(n, 'transB', 0) ? 0 : 1) : null;
      const w = quantizeWeight(n.input![1]!, axis);
      out.push(weightDq(w, axis));
      copy.input![1] = dq(w.name);
      const b = n.input![2];
      if (b) {
        const xScale = paramsOf(n.input![0]!).scale;
        const bias = floatData(inits.get(b)!);
        const scales = Float32Array.from(bias, (_, c) => xScale * w.scales[w.scales.length > 1 ? c : 0]!);
        const q = Int32Array.from(bias, (v, c) =>
          Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(v / scales[c]!))),
        );
        const name = `${b}_quantized_${i}`;
        added.push(int32Tensor(name, [bias.length], q));
        added.push(floatTensor(`${name}_scale`, [bias.length], scales));
        added.push(int32Tensor(`${name}_zero_point`, [bias.length], new Int32Array(bias.length)));
        out.push(weightDq({ name }, 0));
        copy.input![2] = dq(name);
      }
    }
    out.push(copy);
    for (const t of copy.output ?? []) if (plan.quantized.has(t)) out.push(...qdq(t));
  });

  const model = onnx.ModelProto.create({
    ...plan.model,
    graph: onnx.GraphProto.create({ ...graph, node: out, initializer: [...(graph.initializer ?? []), ...added] }),
    metadataProps: [
      ...(plan.model.metadataProps ?? []).filter((p) => p.key !== 'modelgate.quantization'),
      onnx.StringStringEntryProto.create({
        key: 'modelgate.quantization',
        value: JSON.stringify({
          method: 'INT8_STATIC',
          calibration: method,
          items: calibrator.items,
          tool: QUANTIZER_TOOL,
        }),
      }),
    ],
  });
  dropUnused(model.graph!);
  return {
    model: encodeModel(model),
    method,
    calibrationItems: calibrator.items,
    quantizedNodes: plan.int8Nodes.size,
    tool: QUANTIZER_TOOL,
  };
}
