import { DomainError } from '../../src/common/errors';
import { parseInputSpec } from '../../src/registry/input-spec';

function refusal(raw: unknown): DomainError {
  try {
    parseInputSpec(raw);
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('inputSpec validation', () => {
  it('fills in defaults for the optional keys', () => {
    expect(parseInputSpec({ width: 28, height: 28, channels: 1 })).toEqual({
      width: 28,
      height: 28,
      channels: 1,
      resize: 'resize',
      scale: 255,
      mean: [0],
      std: [1],
      layout: 'NCHW',
      output: 'logits',
    });
  });

  it('keeps every key of the documented inputSpec', () => {
    const spec = {
      width: 224,
      height: 224,
      channels: 3,
      resize: 'resize-crop',
      cropRatio: 0.875,
      scale: 255,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      layout: 'NHWC',
      inputName: 'input',
      outputName: 'logits',
      output: 'probabilities',
    };
    expect(parseInputSpec(spec)).toEqual(spec);
  });

  it('keeps an interpolation when given, and stores none when not (the default, bilinear, applies at use)', () => {
    for (const interpolation of ['bilinear', 'nearest', 'bicubic', 'lanczos']) {
      expect(parseInputSpec({ width: 8, height: 8, channels: 1, interpolation }).interpolation).toBe(interpolation);
    }
    expect(parseInputSpec({ width: 8, height: 8, channels: 1 })).not.toHaveProperty('interpolation');
  });

  it('refuses an unknown interpolation, naming the accepted ones', () => {
    const e = refusal({ width: 8, height: 8, channels: 1, interpolation: 'area' });
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toContain('interpolation must be one of bilinear, nearest, bicubic, lanczos');
  });

  it('defaults cropRatio to 0.875 (224/256) for resize-crop', () => {
    expect(parseInputSpec({ width: 224, height: 224, channels: 3, resize: 'resize-crop' }).cropRatio).toBe(0.875);
  });

  it('refuses 3 means for 1 channel', () => {
    const e = refusal({ width: 28, height: 28, channels: 1, mean: [0.1, 0.2, 0.3], std: [1] });
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toContain('mean has 3 values for 1 channel');
  });

  it('refuses a negative size', () => {
    const e = refusal({ width: -28, height: 28, channels: 1 });
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toContain('width must be at least 1');
  });

  it('refuses an unknown resize mode, naming the accepted ones', () => {
    const e = refusal({ width: 28, height: 28, channels: 1, resize: 'stretch' });
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toContain('resize must be one of resize, resize-crop, letterbox');
  });

  it('refuses unknown keys (typos would otherwise be ignored silently)', () => {
    expect(refusal({ width: 28, height: 28, channels: 1, layuot: 'NHWC' }).message).toContain('unknown key layuot');
  });

  it('refuses missing sizes, bad channel counts, zero std and non-objects', () => {
    expect(refusal({ height: 28, channels: 1 }).message).toContain('width is required');
    expect(refusal({ width: 28, height: 28, channels: 2 }).message).toContain('channels');
    expect(refusal({ width: 28, height: 28, channels: 1, std: [0] }).message).toContain('std.0 must be positive');
    expect(refusal([1, 2]).message).toContain('must be a JSON object');
    expect(refusal({ width: '28', height: 28, channels: 1 }).message).toContain('width must be a number');
  });

  it('refuses tensor names the database cannot store (NUL, an unpaired surrogate): found by the fuzzer as INTERNAL_SERVER_ERROR', () => {
    expect(refusal({ width: 8, height: 8, channels: 1, inputName: 'in\u0000put' })).toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'inputSpec.inputName' },
    });
    expect(refusal({ width: 8, height: 8, channels: 1, outputName: 'out\ud800' }).message).toContain(
      'unpaired UTF-16 surrogate (U+D800)',
    );
    expect(parseInputSpec({ width: 8, height: 8, channels: 1, inputName: 'ｉｎ🙂' }).inputName).toBe('ｉｎ🙂');
  });

  it('refuses cropRatio outside [0.25, 1] or without resize-crop', () => {
    expect(refusal({ width: 8, height: 8, channels: 1, resize: 'resize-crop', cropRatio: 1.5 }).message).toContain(
      'cropRatio',
    );
    expect(refusal({ width: 8, height: 8, channels: 1, cropRatio: 0.5 }).message).toContain(
      'cropRatio applies only to resize "resize-crop"',
    );
  });
  it('refuses absurd sizes at registration: sides over 4096, tensors over 2048x2048, crop ratios under 0.25', () => {
    expect(refusal({ width: 16384, height: 16384, channels: 3 }).message).toContain('width must be at most 4096');
    expect(refusal({ width: 4096, height: 4096, channels: 1 }).message).toContain(
      'width x height is 16777216, more than 4194304',
    );
    expect(refusal({ width: 224, height: 224, channels: 3, resize: 'resize-crop', cropRatio: 0.01 }).message).toContain(
      'cropRatio must be in [0.25, 1]',
    );
    expect(
      parseInputSpec({ width: 2048, height: 2048, channels: 3, resize: 'resize-crop', cropRatio: 0.25 }).cropRatio,
    ).toBe(0.25);
  });
});
