import { badInput } from '../common/errors';
import type { InputSpec } from './input-spec';
import type { GraphSignature, TensorInfo } from './model-inspector';

export interface SignatureFit {
  input: TensorInfo;
  output: TensorInfo;
  /** The batch dimension: a number when the graph fixes it (1 means no batching), else "dynamic". */
  batch: number | 'dynamic';
}

const fixed = (d: number | string): d is number => typeof d === 'number' && d >= 0;
const show = (shape: (number | string)[]) =>
  `[${shape.map((d) => (fixed(d) ? d : typeof d === 'string' && d ? d : '?')).join(', ')}]`;

function pick(kind: 'input' | 'output', values: TensorInfo[], wanted: string | undefined): TensorInfo {
  const key = kind === 'input' ? 'inputName' : 'outputName';
  if (wanted !== undefined) {
    const found = values.find((v) => v.name === wanted);
    if (!found) {
      throw badInput(
        `the graph has no ${kind} named "${wanted}" (inputSpec.${key}); its ${kind}s are ${values.map((v) => `"${v.name}"`).join(', ') || 'none'}`,
      );
    }
    return found;
  }
  if (values.length === 0) throw badInput(`the graph has no ${kind}s`);
  if (kind === 'input' && values.length > 1) {
    throw badInput(
      `the graph has ${values.length} inputs (${values.map((v) => `"${v.name}"`).join(', ')}); name the image input in inputSpec.inputName`,
    );
  }
  return values[0]!;
}

/**
 * Checks that a graph can serve a model: one float image input whose fixed dimensions agree with
 * the spec's layout, channels and size, and a float output with one score per label.
 * Dynamic dimensions are accepted (the spec decides them at run time).
 */
export function fitSignature(sig: GraphSignature, spec: InputSpec, labelCount: number): SignatureFit {
  const input = pick('input', sig.inputs, spec.inputName);
  const output = pick('output', sig.outputs, spec.outputName);
  const problems: string[] = [];

  if (input.type !== 'float32')
    problems.push(`input "${input.name}" has element type ${input.type ?? 'non-tensor'}, expected float32`);
  if (input.shape.length !== 4) {
    problems.push(`input "${input.name}" has shape ${show(input.shape)}: expected 4 dimensions (${spec.layout})`);
  } else {
    const [, a, b, c] = input.shape as [number | string, number | string, number | string, number | string];
    const [ch, h, w] = spec.layout === 'NCHW' ? [a, b, c] : [c, a, b];
    const expect = (dim: number | string, want: number, what: string) => {
      if (fixed(dim) && dim !== want)
        problems.push(
          `input "${input.name}" has ${what} ${dim} (shape ${show(input.shape)}, ${spec.layout}) but inputSpec says ${want}`,
        );
    };
    expect(ch, spec.channels, 'channels');
    expect(h, spec.height, 'height');
    expect(w, spec.width, 'width');
  }

  if (output.type !== 'float32' && output.type !== 'float16' && output.type !== 'float64') {
    problems.push(`output "${output.name}" has element type ${output.type ?? 'non-tensor'}, expected float`);
  }
  if (output.shape.length < 1) {
    problems.push(`output "${output.name}" has no shape`);
  } else {
    const classes = output.shape[output.shape.length - 1]!;
    if (fixed(classes) && classes !== labelCount) {
      problems.push(
        `output "${output.name}" has ${classes} classes (shape ${show(output.shape)}) but the model has ${labelCount} labels`,
      );
    }
    if (output.shape.length > 2 && output.shape.slice(1, -1).some((d) => !fixed(d) || d !== 1)) {
      problems.push(`output "${output.name}" has shape ${show(output.shape)}: expected [batch, classes]`);
    }
  }
  if (problems.length) throw badInput(`the model file does not fit the model: ${problems.join('; ')}`, { problems });

  const first = input.shape[0];
  return { input, output, batch: first !== undefined && fixed(first) ? first : 'dynamic' };
}
