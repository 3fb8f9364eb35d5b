import { z } from 'zod';
import { badInput } from '../common/errors';
import { checkText } from '../common/text';

/**
 * How an image becomes the model's input tensor (its keys are public API: the `inputSpec` JSON of
 * RegisterModelInput and Model, described in the README). Stored with defaults
 * filled in, so readers never guess.
 */
export const RESIZE_MODES = ['resize', 'resize-crop', 'letterbox'] as const;
/** Resampling filter, named as torchvision's InterpolationMode. Optional: absent means 'bilinear' (torchvision's
 * default), applied where the image is resized and never written into the stored spec, so specs registered before
 * this key existed read the same. */
export const INTERPOLATIONS = ['bilinear', 'nearest', 'bicubic', 'lanczos'] as const;
export type Interpolation = (typeof INTERPOLATIONS)[number];
export const DEFAULT_INTERPOLATION: Interpolation = 'bilinear';

/**
 * Bounds that keep one image's work and memory sane: a tensor side beyond MAX_SIDE, a tensor
 * beyond MAX_TENSOR_PIXELS (16 MB of float32 per RGB image, times the batch size) or a crop ratio
 * below MIN_CROP_RATIO (the image is resized to size / cropRatio before cropping) is refused.
 */
export const MAX_SIDE = 4096;
export const MAX_TENSOR_PIXELS = 2048 * 2048;
export const MIN_CROP_RATIO = 0.25;

const positiveSize = z
  .number()
  .int('must be an integer')
  .min(1, 'must be at least 1')
  .max(MAX_SIDE, `must be at most ${MAX_SIDE}`);

const inputSpecSchema = z
  .object({
    width: positiveSize,
    height: positiveSize,
    channels: z.union([z.literal(1), z.literal(3)], { error: 'must be 1 (grayscale) or 3 (RGB)' }),
    resize: z.enum(RESIZE_MODES, { error: `must be one of ${RESIZE_MODES.join(', ')}` }).default('resize'),
    interpolation: z.enum(INTERPOLATIONS, { error: `must be one of ${INTERPOLATIONS.join(', ')}` }).optional(),
    cropRatio: z
      .number()
      .gte(MIN_CROP_RATIO, `must be in [${MIN_CROP_RATIO}, 1]`)
      .lte(1, `must be in [${MIN_CROP_RATIO}, 1]`)
      .optional(),
    scale: z.number().positive('must be positive').default(255),
    mean: z.array(z.number().finite()).optional(),
    std: z.array(z.number().positive('must be positive')).optional(),
    layout: z.enum(['NCHW', 'NHWC'], { error: 'must be NCHW or NHWC' }).default('NCHW'),
    inputName: z.string().min(1).optional(),
    outputName: z.string().min(1).optional(),
    output: z.enum(['logits', 'probabilities'], { error: 'must be logits or probabilities' }).default('logits'),
  })
  .strict();

export interface InputSpec {
  width: number;
  height: number;
  channels: 1 | 3;
  resize: (typeof RESIZE_MODES)[number];
  /** Absent = DEFAULT_INTERPOLATION ('bilinear'). */
  interpolation?: Interpolation;
  /** Only for resize-crop: the shorter side is resized to size / cropRatio, then center-cropped. */
  cropRatio?: number;
  scale: number;
  mean: number[];
  std: number[];
  layout: 'NCHW' | 'NHWC';
  inputName?: string;
  outputName?: string;
  output: 'logits' | 'probabilities';
}

/** Validates a client-supplied spec; throws BAD_USER_INPUT naming every offending key. */
export function parseInputSpec(raw: unknown): InputSpec {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw badInput('inputSpec must be a JSON object', { field: 'inputSpec' });
  }
  const parsed = inputSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      if (i.code === 'unrecognized_keys') return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
      const key = i.path.join('.');
      if (i.code === 'invalid_type') {
        const value = i.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k], raw);
        return value === undefined ? `${key} is required` : `${key} must be a ${i.expected}`;
      }
      return `${key} ${i.message}`;
    });
    throw badInput(`invalid inputSpec: ${problems.join('; ')}`, { field: 'inputSpec', problems });
  }
  const s = parsed.data;
  const mean = s.mean ?? Array<number>(s.channels).fill(0);
  const std = s.std ?? Array<number>(s.channels).fill(1);
  const problems: string[] = [];
  if (mean.length !== s.channels)
    problems.push(`mean has ${mean.length} values for ${s.channels} channel${s.channels > 1 ? 's' : ''}`);
  if (std.length !== s.channels)
    problems.push(`std has ${std.length} values for ${s.channels} channel${s.channels > 1 ? 's' : ''}`);
  if (s.cropRatio !== undefined && s.resize !== 'resize-crop')
    problems.push(`cropRatio applies only to resize "resize-crop", not "${s.resize}"`);
  if (s.width * s.height > MAX_TENSOR_PIXELS)
    problems.push(
      `width x height is ${s.width * s.height}, more than ${MAX_TENSOR_PIXELS} (${Math.sqrt(MAX_TENSOR_PIXELS)}x${Math.sqrt(MAX_TENSOR_PIXELS)})`,
    );
  if (problems.length) throw badInput(`invalid inputSpec: ${problems.join('; ')}`, { field: 'inputSpec', problems });
  const spec: InputSpec = {
    width: s.width,
    height: s.height,
    channels: s.channels,
    resize: s.resize,
    scale: s.scale,
    mean,
    std,
    layout: s.layout,
    output: s.output,
  };
  if (s.interpolation !== undefined) spec.interpolation = s.interpolation;
  if (s.resize === 'resize-crop') spec.cropRatio = s.cropRatio ?? 0.875;
  if (s.inputName !== undefined) spec.inputName = checkText('inputSpec.inputName', s.inputName);
  if (s.outputName !== undefined) spec.outputName = checkText('inputSpec.outputName', s.outputName);
  return spec;
}
