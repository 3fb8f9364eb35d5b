import { InferenceSession } from 'onnxruntime-node';
import { InvalidModelFileError, type GraphSignature, type ModelInspector, type TensorInfo } from '../registry/model-inspector';

function describe(meta: InferenceSession.ValueMetadata): TensorInfo {
  if (!meta.isTensor) return { name: meta.name, type: null, shape: [] };
  return {
    name: meta.name,
    type: meta.type,
    // Unknown dimensions come back as negative numbers or empty strings: keep them as symbols.
    shape: meta.shape.map((d) => (typeof d === 'number' ? (d >= 0 ? d : '?') : d || '?')),
  };
}

/** Reads a graph's inputs and outputs by loading it with onnxruntime-node, the way it will be served. */
export class OnnxInspector implements ModelInspector {
  async inspect(file: string): Promise<GraphSignature> {
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
    } catch (e) {
      const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
      throw new InvalidModelFileError(`not a loadable ONNX graph: ${reason}`);
    }
    try {
      return { inputs: session.inputMetadata.map(describe), outputs: session.outputMetadata.map(describe) };
    } finally {
      await session.release();
    }
  }
}
