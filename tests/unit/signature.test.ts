import { DomainError } from '../../src/common/errors';
import { parseInputSpec } from '../../src/registry/input-spec';
import type { GraphSignature } from '../../src/registry/model-inspector';
import { fitSignature } from '../../src/registry/signature';

const spec = (extra: object = {}) => parseInputSpec({ width: 28, height: 28, channels: 1, ...extra });
const graph = (
  inputShape: (number | string)[],
  outputShape: (number | string)[] = ['N', 10],
  more: Partial<GraphSignature> = {},
): GraphSignature => ({
  inputs: [{ name: 'input', type: 'float32', shape: inputShape }],
  outputs: [{ name: 'logits', type: 'float32', shape: outputShape }],
  ...more,
});

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).code).toBe('BAD_USER_INPUT');
    return (e as DomainError).message;
  }
  throw new Error('accepted');
}

describe('fitting a graph to a model', () => {
  it('accepts matching fixed dimensions and reports a dynamic batch', () => {
    expect(fitSignature(graph(['N', 1, 28, 28]), spec(), 10)).toMatchObject({
      batch: 'dynamic',
      input: { name: 'input' },
      output: { name: 'logits' },
    });
  });

  it('accepts dynamic spatial dimensions for any spec size', () => {
    expect(
      fitSignature(graph(['N', 3, 'H', 'W']), parseInputSpec({ width: 224, height: 224, channels: 3 }), 10).batch,
    ).toBe('dynamic');
  });

  it('reports a fixed batch of 1', () => {
    expect(fitSignature(graph([1, 1, 28, 28]), spec(), 10).batch).toBe(1);
  });

  it('reads NHWC graphs channel-last', () => {
    expect(() => fitSignature(graph(['N', 28, 28, 1]), spec({ layout: 'NHWC' }), 10)).not.toThrow();
    expect(refusal(() => fitSignature(graph(['N', 28, 28, 1]), spec(), 10))).toContain('has channels 28');
  });

  it('names every contradiction: channels, size, class count', () => {
    const message = refusal(() => fitSignature(graph(['N', 3, 32, 28], ['N', 5]), spec(), 10));
    expect(message).toContain('has channels 3');
    expect(message).toContain('has height 32');
    expect(message).toContain('has 5 classes');
    expect(message).not.toContain('width');
  });

  it('refuses non-float inputs and inputs that are not images', () => {
    expect(
      refusal(() =>
        fitSignature(
          { ...graph(['N', 1, 28, 28]), inputs: [{ name: 'input', type: 'int64', shape: ['N', 1, 28, 28] }] },
          spec(),
          10,
        ),
      ),
    ).toContain('element type int64');
    expect(refusal(() => fitSignature(graph(['N', 784]), spec(), 10))).toContain('expected 4 dimensions');
  });

  it('asks which input is the image when there are several, and honours inputName/outputName', () => {
    const two: GraphSignature = {
      inputs: [
        { name: 'a', type: 'float32', shape: ['N', 1, 28, 28] },
        { name: 'b', type: 'float32', shape: ['N', 1, 28, 28] },
      ],
      outputs: [
        { name: 'features', type: 'float32', shape: ['N', 128] },
        { name: 'logits', type: 'float32', shape: ['N', 10] },
      ],
    };
    expect(refusal(() => fitSignature(two, spec(), 10))).toContain('name the image input in inputSpec.inputName');
    expect(fitSignature(two, spec({ inputName: 'b', outputName: 'logits' }), 10)).toMatchObject({
      input: { name: 'b' },
      output: { name: 'logits' },
    });
    expect(refusal(() => fitSignature(two, spec({ inputName: 'c' }), 10))).toContain('no input named "c"');
    // The first output is used by default: here it has 128 "classes".
    expect(refusal(() => fitSignature(two, spec({ inputName: 'a' }), 10))).toContain('has 128 classes');
  });
});
