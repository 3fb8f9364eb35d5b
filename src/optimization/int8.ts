/**
 * Static int8 quantization of an ONNX image classifier, in three steps so that the caller can run
 * the calibration images through the inference worker:
 *   1. planInt8(source): parse and check the graph (refusals below), fold weight-only
 *      DequantizeLinear back to fp32, and return an fp32 calibration graph whose intermediate
 *      tensors are exposed as outputs;
 *   2. Calibrator.add(outputs) for every calibration batch run through that graph
 *      (backend.runOutputs(key, input, plan.tensors));
 *   3. buildInt8(plan, calibrator, method): the QDQ graph (int8 per-output-channel symmetric weights,
 *      uint8 per-tensor activations) that onnxruntime fuses into QLinearConv/QGemm/QLinearAdd...
 */

export type CalibrationMethod = 'MINMAX' | 'PERCENTILE' | 'ENTROPY';

export type RefusalReason =
  /** Operators the quantizer cannot handle safely: `operators` lists them. */
  | 'UNSUPPORTED_OPERATORS'
  /** The graph already quantizes activations (QuantizeLinear, QLinear*, *Integer ops). */
  | 'ALREADY_STATIC'
  /** Not a float32 image classifier graph (input or output not float32, no input...). */
  | 'NOT_FLOAT';

export class QuantizationRefused extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    readonly operators: string[] = [],
  ) {
    super(message);
    this.name = 'QuantizationRefused';
  }
}

export interface Int8Plan {
  /** ONNX bytes of the fp32 graph with every tensor to calibrate added as a graph output. */
  readonly calibrationModel: Uint8Array;
  readonly inputName: string;
  /** The tensors to request from `backend.runOutputs` on the calibration graph. */
  readonly tensors: readonly string[];
  /** Nodes that will run as int8 (Conv, Gemm, MatMul, Add, pooling, Concat). */
  readonly quantizableNodes: number;
  /** The source's weight-only DequantizeLinear nodes folded back to fp32 first. */
  readonly foldedDequantize: number;
}

export interface Int8Result {
  /** The QDQ graph's ONNX bytes. */
  model: Uint8Array;
  method: CalibrationMethod;
  calibrationItems: number;
  /** Nodes wrapped in QuantizeLinear/DequantizeLinear. */
  quantizedNodes: number;
  /** Name and version of the quantizer, for the derivation record. */
  tool: string;
}

/** Operators run as int8 (wrapped in QuantizeLinear/DequantizeLinear). */
export const INT8_OPS = new Set([
  'Conv',
  'Gemm',
  'MatMul',
  'Add',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Concat',
]);

/** Operators left in float32 between quantized ones: their semantics do not depend on the rewrite. */
const FLOAT_OPS = new Set([
  'Relu',
  'LeakyRelu',
  'Clip',
  'Sigmoid',
  'Tanh',
  'HardSigmoid',
  'HardSwish',
  'Softmax',
  'LogSoftmax',
  'Flatten',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Identity',
  'Dropout',
  'Constant',
  'Shape',
  'Gather',
  'Slice',
  'Mul',
  'Sub',
  'Div',
  'BatchNormalization',
  'Pad',
  'Resize',
  'ReduceMean',
  'Split',
  'Cast',
  'Erf',
  'Sqrt',
  'Pow',
]);

/** Activation-quantizing or integer operators: their presence means the graph is already static int8. */
const STATIC_OPS = new Set([
  'QuantizeLinear',
  'DynamicQuantizeLinear',
  'QLinearConv',
  'QLinearMatMul',
  'QLinearAdd',
  'QGemm',
  'ConvInteger',
  'MatMulInteger',
]);

/**
 * Whether a graph with these top-level operators can be made static int8, checked from the op types
 * alone (graphOps reads them without parsing the whole file), so that a request is refused before a
 * job is queued. DequantizeLinear alone is a weight-only graph: its weights are folded back first.
 */
export function int8Refusal(ops: ReadonlySet<string>): QuantizationRefused | null {
  const statics = [...ops].filter((op) => STATIC_OPS.has(op)).sort();
  if (statics.length)
    return new QuantizationRefused(
      'ALREADY_STATIC',
      `the graph is already statically quantized (it has ${statics.join(', ')})`,
      statics,
    );
  const unsupported = [...ops]
    .filter((op) => !INT8_OPS.has(op) && !FLOAT_OPS.has(op) && op !== 'DequantizeLinear')
    .sort();
  if (unsupported.length)
    return new QuantizationRefused(
      'UNSUPPORTED_OPERATORS',
      `the graph has operators the int8 quantizer cannot handle safely: ${unsupported.join(', ')}`,
      unsupported,
    );
  if (![...ops].some((op) => INT8_OPS.has(op)))
    return new QuantizationRefused('UNSUPPORTED_OPERATORS', 'the graph has no operator that int8 would speed up');
  return null;
}

export { planInt8, Calibrator, buildInt8, floatModel } from './quantizer';
