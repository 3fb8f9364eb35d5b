import { onnx } from 'onnx-proto';

/** Inputs 1 and 2 (scale, zero point) of these operators are quantization metadata, not weights. */
const QUANTIZATION_OPS = new Set(['QuantizeLinear', 'DequantizeLinear']);

type Dim = number | { toNumber(): number };
const toNumber = (d: Dim): number => (typeof d === 'number' ? d : d.toNumber());

/**
 * The number of weights an ONNX graph holds: the elements of its initializers (the product of
 * their dimensions; a scalar counts 1), in the graph and its subgraphs. Initializers used only as
 * the scale or zero point (inputs 1 and 2) of QuantizeLinear/DequantizeLinear are not weights, so a
 * weight-only int8 graph and a static int8 QDQ graph count what their fp32 source does.
 *
 * Decoding a large graph takes a while: call it off the gateway's thread (the inference worker's
 * `inspect` does).
 */
export function countParameters(bytes: Uint8Array): number {
  const model = onnx.ModelProto.decode(bytes);
  return model.graph ? countGraph(model.graph) : 0;
}

function countGraph(graph: onnx.IGraphProto): number {
  // How each initializer is used: only as quantization metadata, or (also) as anything else.
  const metadataOnly = new Map<string, boolean>();
  const nodes = graph.node ?? [];
  for (const node of nodes) {
    (node.input ?? []).forEach((name, i) => {
      if (!name) return;
      const asMetadata = QUANTIZATION_OPS.has(node.opType ?? '') && (i === 1 || i === 2);
      metadataOnly.set(name, (metadataOnly.get(name) ?? true) && asMetadata);
    });
  }
  // A graph output, or an input of a subgraph's node, reads the initializer as a value too.
  for (const out of graph.output ?? []) if (out.name) metadataOnly.set(out.name, false);
  let total = 0;
  for (const t of graph.initializer ?? []) {
    if (t.name && metadataOnly.get(t.name) === true) continue;
    total += (t.dims ?? []).reduce<number>((n, d) => n * toNumber(d as Dim), 1);
  }
  for (const t of graph.sparseInitializer ?? []) {
    total += (t.dims ?? []).reduce<number>((n, d) => n * toNumber(d as Dim), 1);
  }
  for (const node of nodes) {
    for (const attr of node.attribute ?? []) {
      if (attr.g) total += countGraph(attr.g);
      for (const g of attr.graphs ?? []) total += countGraph(g);
    }
  }
  return total;
}
