export interface ClassScore {
  index: number;
  label: string;
  probability: number;
}

/** Probabilities from a model's output row: softmax over logits (max-shifted), or as given. */
export function probabilities(row: Float32Array, output: 'logits' | 'probabilities'): Float64Array {
  const out = new Float64Array(row.length);
  if (output === 'probabilities') {
    out.set(row);
    return out;
  }
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += out[i] = Math.exp(row[i]! - max);
  for (let i = 0; i < row.length; i++) out[i]! /= sum;
  return out;
}

/** The k most probable classes, most probable first (ties: lower index first). */
/** Index of the largest value (the first, on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export function topK(probs: Float64Array, labels: readonly string[], k: number): ClassScore[] {
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]! || a - b);
  return order
    .slice(0, Math.min(k, probs.length))
    .map((index) => ({ index, label: labels[index] ?? String(index), probability: probs[index]! }));
}
