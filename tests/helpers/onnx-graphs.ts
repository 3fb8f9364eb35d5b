import { onnx } from 'onnx-proto';

/**
 * Small ONNX graphs written at test time (onnx-proto): image classifiers for the 8x8 grayscale,
 * 3-class test model (input `input` [N,1,8,8], output `logits` [N,3]) that exercise what the int8
 * optimizer must refuse or recognize. Weights come from a fixed-seed generator: the bytes are
 * the same on every run.
 */

const { DataType } = onnx.TensorProto;

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function floats(name: string, dims: number[], rand: () => number, scale = 0.2): onnx.ITensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dims, dataType: DataType.FLOAT, floatData: Array.from({ length: n }, () => rand() * scale) };
}

const int64s = (name: string, values: number[]): onnx.ITensorProto => ({
  name,
  dims: [values.length],
  dataType: DataType.INT64,
  int64Data: values,
});

const valueInfo = (name: string, dims: (number | string)[]): onnx.IValueInfoProto => ({
  name,
  type: {
    tensorType: {
      elemType: DataType.FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});

const intAttr = (name: string, i: number): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i,
});
const intsAttr = (name: string, ints: number[]): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints,
});

function model(name: string, nodes: onnx.INodeProto[], initializer: onnx.ITensorProto[]): Buffer {
  const proto: onnx.IModelProto = {
    irVersion: 7,
    producerName: 'modelgate-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name,
      node: nodes,
      initializer,
      input: [valueInfo('input', ['N', 1, 8, 8])],
      output: [valueInfo('logits', ['N', 3])],
    },
  };
  return Buffer.from(onnx.ModelProto.encode(proto).finish());
}

/** The rows of the image as a sequence through an LSTM: a recurrent operator int8 cannot handle safely. */
export function lstmClassifier(): Buffer {
  const rand = random(11);
  const hidden = 3;
  return model(
    'gray8-lstm',
    [
      { opType: 'Reshape', input: ['input', 'rows_shape'], output: ['rows'] },
      { opType: 'Transpose', input: ['rows'], output: ['seq'], attribute: [intsAttr('perm', [1, 0, 2])] },
      {
        opType: 'LSTM',
        input: ['seq', 'W', 'R', 'B'],
        output: ['', 'h'],
        attribute: [intAttr('hidden_size', hidden)],
      },
      { opType: 'Squeeze', input: ['h', 'axes0'], output: ['logits'] },
    ],
    [
      int64s('rows_shape', [0, 8, 8]),
      floats('W', [1, 4 * hidden, 8], rand),
      floats('R', [1, 4 * hidden, hidden], rand),
      floats('B', [1, 8 * hidden], rand),
      int64s('axes0', [0]),
    ],
  );
}

/**
 * A static int8 (QDQ) graph: the input quantized to uint8 and back (QuantizeLinear on an
 * activation), flattened, then one Gemm. What an int8 optimization writes, in miniature.
 */
export function staticInt8Classifier(seed = 12): Buffer {
  const rand = random(seed);
  return model(
    'gray8-qdq',
    [
      { opType: 'QuantizeLinear', input: ['input', 'x_scale', 'x_zero'], output: ['input_q'] },
      { opType: 'DequantizeLinear', input: ['input_q', 'x_scale', 'x_zero'], output: ['input_dq'] },
      { opType: 'Flatten', input: ['input_dq'], output: ['flat'], attribute: [intAttr('axis', 1)] },
      { opType: 'Gemm', input: ['flat', 'W', 'B'], output: ['logits'] },
    ],
    [
      { name: 'x_scale', dims: [], dataType: DataType.FLOAT, floatData: [0.05] },
      { name: 'x_zero', dims: [], dataType: DataType.UINT8, int32Data: [128] },
      floats('W', [64, 3], rand),
      floats('B', [3], rand),
    ],
  );
}
