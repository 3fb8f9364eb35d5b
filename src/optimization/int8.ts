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

export { planInt8, Calibrator, buildInt8 } from './quantizer';
