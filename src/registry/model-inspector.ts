/**
 * What the registry needs to know about a model file, read by an inference backend. The registry
 * depends on this interface only; the onnxruntime implementation lives in src/inference.
 */
export interface TensorInfo {
  name: string;
  /** Element type as the backend names it ("float32", "int64"...); null for non-tensor values. */
  type: string | null;
  /** Dimensions: a number when fixed, a string (symbolic name or "?") when dynamic. */
  shape: (number | string)[];
}

export interface GraphSignature {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Weights in the graph (initializer elements, quantization scales and zero points left out); null when unknown. */
  parameters?: number | null;
}

export class InvalidModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidModelFileError';
  }
}

export interface ModelInspector {
  /** Loads the file as the backend would; throws InvalidModelFileError when it cannot. */
  inspect(file: string): Promise<GraphSignature>;
}
