import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { DomainError } from '../../src/common/errors';
import { DEFAULT_IMAGE_LIMITS, imageError, type ImageLimits } from '../../src/inference/image/decode';
import { bytesFromBase64 } from '../../src/inference/image/image-input';
import { loadPngDecoder, pngInfo } from '../../src/inference/image/png';
import { plan, preprocess, preprocessSmallPng, type Preprocessed } from '../../src/inference/image/preprocess';
import { resample } from '../../src/inference/image/resample';
import { ImagePool } from '../../src/inference/image/image-pool';
import pino from 'pino';
import { parseInputSpec, type InputSpec } from '../../src/registry/input-spec';

const IMAGES = join(__dirname, '../fixtures/images');
const fixture = (name: string) => readFileSync(join(IMAGES, name));
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const spec = (raw: Record<string, unknown>): InputSpec => parseInputSpec(raw);
const plain = (width: number, height: number, channels: 1 | 3, extra: Record<string, unknown> = {}) =>
  spec({ width, height, channels, ...extra });

async function refusal(work: Promise<unknown> | (() => unknown)): Promise<DomainError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (e) {
    // A raw sharp error escaping would fail here.
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('accepted');
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Value at channel c, row y, column x of an NCHW result. */
function at(p: Preprocessed, c: number, y: number, x: number): number {
  const [, H, W] = p.dims;
  return p.data[(c * H + y) * W + x]!;
}

describe('preprocess: limits', () => {
  it('defaults to 20 MB, 50 MP and a 10 s decode timeout', () => {
    expect(DEFAULT_IMAGE_LIMITS).toEqual({ maxBytes: 20 * 1024 * 1024, maxPixels: 50_000_000, timeoutSeconds: 10 });
  });
});

/**
 * Training parity: torchvision-expected.json holds what torchvision 0.14.1 (Pillow 9.4) computes with
 * Compose([Resize, CenterCrop, ToTensor, Normalize]) for the same files and specs (generator:
 * tests/fixtures/images/torchvision_expected.py). Our resampler is Pillow's algorithm with its 8-bit fixed
 * point, so the tensors are equal up to float32 rounding of the normalization: measured max abs difference
 * 4.8e-7 over all 15 cases (bilinear, bicubic, lanczos, nearest; reducing up to 4x and enlarging 2.5x;
 * gray<->RGB; JPEG decoding; alpha flattened on white). Tolerance 1e-6: one 8-bit level is 1/255/std >= 0.017
 * after normalization, so any resampling change fails by four orders of magnitude.
 */
describe('preprocess: parity with torchvision', () => {
  const TOLERANCE = 1e-6;
  const expected = JSON.parse(readFileSync(join(IMAGES, 'torchvision-expected.json'), 'utf8')) as {
    cases: { name: string; file: string; spec: Record<string, unknown>; float32le: string }[];
  };

  it('covers the resize modes and interpolations it claims to', () => {
    expect(expected.cases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(expected.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const s = spec(c.spec);
    const bytes = Buffer.from(c.float32le, 'base64');
    const want = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const got = await preprocess(fixture(c.file), s);
    expect(got.dims).toEqual([s.channels, s.height, s.width]);
    expect(maxAbsDiff(got.data, want)).toBeLessThanOrEqual(TOLERANCE);
  });
});

/**
 * Self-golden: our own output for inputs torchvision has no counterpart for (letterbox, 16-bit, EXIF, GIF,
 * other formats, NHWC), pinned so that a silent change in decoding, resizing or normalization fails.
 * Tolerance 1e-5 (values are stored rounded to 6 decimals). After an intended change:
 *   UPDATE_GOLDEN=1 npm test -- tests/unit/preprocess.test.ts --selectProjects unit
 */
describe('preprocess: golden values', () => {
  const GOLDEN_FILE = join(IMAGES, 'preprocess-golden.json');
  const CASES: [string, string, Record<string, unknown>][] = [
    [
      'letterbox 16x16 NHWC, landscape',
      'rgb-37x23.png',
      { width: 16, height: 16, channels: 3, resize: 'letterbox', layout: 'NHWC', ...IMAGENET },
    ],
    [
      'letterbox 12x8 gray, portrait',
      'gray-29x31.png',
      { width: 12, height: 8, channels: 1, resize: 'letterbox', mean: [0.5], std: [0.5] },
    ],
    [
      'resize-crop 12x6, cropRatio 0.9, non-square',
      'rgb-37x23.png',
      { width: 12, height: 6, channels: 3, resize: 'resize-crop', cropRatio: 0.9 },
    ],
    [
      'resize-crop 8x8 lanczos to gray',
      'rgb-96x72.png',
      { width: 8, height: 8, channels: 1, resize: 'resize-crop', interpolation: 'lanczos' },
    ],
    ['16-bit gray as is', 'gray16-4x3.png', { width: 4, height: 3, channels: 1 }],
    [
      '16-bit gray bicubic 3x2 to RGB',
      'gray16-4x3.png',
      { width: 3, height: 2, channels: 3, interpolation: 'bicubic', ...IMAGENET },
    ],
    ['16-bit RGBA flattened', 'rgba16-3x1.png', { width: 3, height: 1, channels: 3 }],
    ['16-bit RGBA to gray', 'rgba16-3x1.png', { width: 3, height: 1, channels: 1 }],
    ['JPEG with EXIF orientation 6', 'orient6-8x4.jpg', { width: 4, height: 8, channels: 1 }],
    ['GIF first frame', 'anim-2frames.gif', { width: 2, height: 2, channels: 3, ...IMAGENET }],
    ['WebP', 'rgb-12x8.webp', { width: 6, height: 4, channels: 3 }],
    ['TIFF', 'rgb-12x8.tiff', { width: 6, height: 4, channels: 3 }],
    ['AVIF', 'rgb-12x8.avif', { width: 6, height: 4, channels: 3 }],
    ['8-bit gray + alpha', 'gray-alpha-2x1.png', { width: 2, height: 1, channels: 3 }],
  ];
  const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

  if (process.env.UPDATE_GOLDEN === '1') {
    it('rewrites preprocess-golden.json', async () => {
      const out: Record<string, { file: string; spec: Record<string, unknown>; dims: number[]; values: number[] }> = {};
      for (const [name, file, raw] of CASES) {
        const p = await preprocess(fixture(file), spec(raw));
        out[name] = { file, spec: raw, dims: p.dims, values: Array.from(p.data, round6) };
      }
      writeFileSync(GOLDEN_FILE, JSON.stringify(out, null, 0) + '\n');
    });
    return;
  }

  const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as Record<
    string,
    { file: string; spec: Record<string, unknown>; dims: number[]; values: number[] }
  >;
  it.each(CASES)('%s', async (name, file, raw) => {
    const g = golden[name];
    expect(g).toBeDefined();
    expect({ file: g!.file, spec: g!.spec }).toEqual({ file, spec: raw });
    const p = await preprocess(fixture(file), spec(raw));
    expect(p.dims).toEqual(g!.dims);
    expect(maxAbsDiff(p.data, g!.values)).toBeLessThanOrEqual(1e-5);
  });
});

describe('preprocess: hand-computed checks', () => {
  it('resamples 2x2 to 1x1 like Pillow: nearest takes the pixel under the centre, bilinear averages', () => {
    const r = { data: new Uint8Array([10, 20, 30, 40]), width: 2, height: 2, channels: 1 };
    expect(Array.from(resample(r, 1, 1, 'nearest', true).data)).toEqual([40]); // centre (1.0, 1.0) → pixel (1, 1)
    expect(Array.from(resample(r, 1, 1, 'bilinear', true).data)).toEqual([25]);
    // Enlarging 2 → 4 bilinear: output centres at input 0.25, 0.75 ... → 10, 12.5→13, 17.5→18, 20 per row.
    expect(
      Array.from(resample({ ...r, height: 1, data: new Uint8Array([10, 20]) }, 4, 1, 'bilinear', true).data),
    ).toEqual([10, 13, 18, 20]);
  });

  it('normalizes as ToTensor + Normalize: (v / 255 - mean) / std per channel', async () => {
    // The GIF's first frame is pure red (the second, green, must not be used).
    const p = await preprocess(fixture('anim-2frames.gif'), plain(2, 2, 3, IMAGENET));
    expect(p.dims).toEqual([3, 2, 2]);
    expect(at(p, 0, 1, 1)).toBeCloseTo((1 - 0.485) / 0.229, 6);
    expect(at(p, 1, 1, 1)).toBeCloseTo((0 - 0.456) / 0.224, 6);
    expect(at(p, 2, 1, 1)).toBeCloseTo((0 - 0.406) / 0.225, 6);
    const scaled = await preprocess(fixture('anim-2frames.gif'), plain(1, 1, 3, { scale: 510 }));
    expect(Array.from(scaled.data)).toEqual([0.5, 0, 0]);
  });

  it('converts RGB to gray with PIL convert("L")\'s rounded fixed-point luma', async () => {
    const onePixel = (rgb: number[]) =>
      sharp(Buffer.from(rgb), { raw: { width: 1, height: 1, channels: 3 } })
        .png()
        .toBuffer();
    const luma = async (rgb: number[]) =>
      Math.round((await preprocess(await onePixel(rgb), plain(1, 1, 1))).data[0]! * 255);
    expect(await luma([255, 0, 0])).toBe(76);
    expect(await luma([0, 255, 0])).toBe(150);
    expect(await luma([0, 0, 255])).toBe(29);
    // 0.587*4 + 0.114*168 = 21.5 exactly in decimal, but PIL's 16-bit weights give 21.49998 → 21 (Pillow 9.4 says 21).
    expect(await luma([0, 4, 168])).toBe(21);
  });

  it('replicates gray into three identical channels', async () => {
    const p = await preprocess(fixture('gray-29x31.png'), plain(5, 5, 3));
    const plane = 25;
    for (let i = 0; i < plane; i++) {
      expect(p.data[plane + i]).toBe(p.data[i]);
      expect(p.data[2 * plane + i]).toBe(p.data[i]);
    }
  });

  it('orders NHWC as the transpose of NCHW', async () => {
    const nchw = await preprocess(fixture('rgb-37x23.png'), plain(5, 4, 3, IMAGENET));
    const nhwc = await preprocess(fixture('rgb-37x23.png'), plain(5, 4, 3, { ...IMAGENET, layout: 'NHWC' }));
    expect(nchw.dims).toEqual([3, 4, 5]);
    expect(nhwc.dims).toEqual([4, 5, 3]);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 5; x++) expect(nhwc.data[(y * 5 + x) * 3 + c]).toBe(nchw.data[(c * 4 + y) * 5 + x]);
  });

  it('keeps the full 16-bit range until normalization (v / 257 / scale)', async () => {
    const p = await preprocess(fixture('gray16-4x3.png'), plain(4, 3, 1));
    expect(p.source).toMatchObject({ format: 'png', bitDepth: 16, channels: 1 });
    const levels = [0, 1, 2, 256, 257, 258, 32767, 32768, 65278, 65533, 65534, 65535];
    expect(
      maxAbsDiff(
        p.data,
        levels.map((v) => v / 65535),
      ),
    ).toBeLessThan(1e-7);
    // Neighbouring 16-bit levels stay distinct (an 8-bit path would merge 0, 1 and 2).
    expect(new Set(p.data).size).toBe(levels.length);
  });

  it('flattens alpha on white, at 8 and 16 bits', async () => {
    // Columns: alpha 255, 255, 128, 128, 0, 0; colour (200, 100, 50), hidden red (255, 0, 0) in the last two.
    const p = await preprocess(fixture('rgba-6x4.png'), plain(6, 4, 3));
    const red = [0, 1, 2, 3, 4, 5].map((x) => Math.round(at(p, 0, 0, x) * 255));
    expect(red).toEqual([200, 200, 227, 227, 255, 255]); // (200*128 + 255*127) / 255 = 227.4
    expect(Math.round(at(p, 1, 0, 4) * 255)).toBe(255); // transparent red reads as white, not red
    const p16 = await preprocess(fixture('rgba16-3x1.png'), plain(3, 1, 3));
    expect([at(p16, 0, 0, 1), at(p16, 1, 0, 1), at(p16, 2, 0, 1)]).toEqual([1, 1, 1]); // 65535, not 65280
    const ga = await preprocess(fixture('gray-alpha-2x1.png'), plain(2, 1, 1));
    expect(Array.from(ga.data, (v) => Math.round(v * 255))).toEqual([100, 255]);
  });

  it('applies the EXIF orientation (stored 8x4, shown 4x8 with the dark half on top)', async () => {
    const p = await preprocess(fixture('orient6-8x4.jpg'), plain(4, 8, 1));
    expect(p.source).toMatchObject({ format: 'jpeg', width: 4, height: 8 });
    expect(at(p, 0, 0, 0)).toBeLessThan(0.2);
    expect(at(p, 0, 7, 3)).toBeGreaterThan(0.8);
  });

  it('decodes PNG, WebP and lossless TIFF to the same tensor, and AVIF close to it', async () => {
    const s = plain(12, 8, 3);
    const png = await preprocess(fixture('rgb-12x8.png'), s);
    for (const [file, format] of [
      ['rgb-12x8.webp', 'webp'],
      ['rgb-12x8.tiff', 'tiff'],
    ]) {
      const p = await preprocess(fixture(file!), s);
      expect(p.source.format).toBe(format);
      expect(Array.from(p.data)).toEqual(Array.from(png.data));
    }
    const avif = await preprocess(fixture('rgb-12x8.avif'), s);
    expect(avif.source).toMatchObject({ format: 'avif', width: 12, height: 8, bitDepth: 8 });
    expect(maxAbsDiff(avif.data, png.data)).toBeLessThan(0.1); // lossy (quality 90, 4:4:4): measured 0.047 (12 levels)
  });

  it('plans resize-crop as torchvision: int() on the long side, half-to-even crop offsets', () => {
    expect(plan(37, 23, { width: 16, height: 16, resize: 'resize-crop', cropRatio: 0.875 })).toEqual({
      width: 28,
      height: 18,
      left: 6,
      top: 1,
    });
    // 224 / 0.875 = 256 (the ImageNet recipe).
    expect(plan(640, 480, { width: 224, height: 224, resize: 'resize-crop', cropRatio: 0.875 })).toEqual({
      width: 341,
      height: 256,
      left: 58,
      top: 16,
    });
    // Portrait; (17 - 14) / 2 = 1.5 → 2 and Python's round(10.5) = 10.
    expect(plan(29, 31, { width: 14, height: 14, resize: 'resize-crop', cropRatio: 0.8 })).toEqual({
      width: 17,
      height: 18,
      left: 2,
      top: 2,
    });
    expect(plan(32, 37, { width: 16, height: 16, resize: 'resize-crop', cropRatio: 0.5 })).toEqual({
      width: 32,
      height: 37,
      left: 8,
      top: 10,
    });
  });

  it('letterboxes centred, padding with black before normalization', async () => {
    expect(plan(37, 23, { width: 16, height: 16, resize: 'letterbox' })).toEqual({
      width: 16,
      height: 10,
      left: 0,
      top: -3,
    });
    const p = await preprocess(fixture('rgb-37x23.png'), plain(16, 16, 3, { resize: 'letterbox', ...IMAGENET }));
    for (const y of [0, 1, 2, 13, 14, 15]) expect(at(p, 1, y, 7)).toBeCloseTo(-0.456 / 0.224, 6);
    expect(at(p, 1, 3, 7)).not.toBeCloseTo(-0.456 / 0.224, 2);
  });

  it('defaults interpolation to bilinear without storing it', async () => {
    expect(plain(5, 4, 3)).not.toHaveProperty('interpolation');
    const implicit = await preprocess(fixture('rgb-37x23.png'), plain(5, 4, 3));
    const explicit = await preprocess(fixture('rgb-37x23.png'), plain(5, 4, 3, { interpolation: 'bilinear' }));
    const bicubic = await preprocess(fixture('rgb-37x23.png'), plain(5, 4, 3, { interpolation: 'bicubic' }));
    expect(Array.from(implicit.data)).toEqual(Array.from(explicit.data));
    expect(Array.from(bicubic.data)).not.toEqual(Array.from(implicit.data));
  });

  it('reports timings and the source image', async () => {
    const p = await preprocess(fixture('rgb-37x23.png'), plain(8, 8, 3));
    expect(p.timings.decode).toBeGreaterThan(0);
    expect(p.timings.preprocess).toBeGreaterThan(0);
    expect(p.source).toEqual({ format: 'png', width: 37, height: 23, channels: 3, bitDepth: 8 });
  });
});

describe('preprocess: fast-png and sharp decode PNGs alike', () => {
  const photo = () => sharp(fixture('rgb-96x72.png'));
  const noise = (width: number, height: number, channels: 2 | 3) => {
    const raw = Buffer.alloc(width * height * channels);
    for (let i = 0; i < raw.length; i++) raw[i] = ((i * 2654435761) >>> 13) & 0xff;
    return sharp(raw, { raw: { width, height, channels } });
  };
  const variants: [string, () => Promise<Buffer>, boolean][] = [
    ['8-bit RGB', () => photo().png().toBuffer(), true],
    ['8-bit gray', () => photo().grayscale().png().toBuffer(), true],
    ['8-bit RGBA', () => photo().ensureAlpha(0.5).png().toBuffer(), true],
    ['8-bit gray + alpha', () => photo().grayscale().ensureAlpha(0.25).png().toBuffer(), true],
    ['16-bit RGB', () => photo().toColourspace('rgb16').png().toBuffer(), true],
    ['16-bit gray', () => photo().toColourspace('grey16').png().toBuffer(), true],
    ['Adam7-interlaced', () => photo().png({ progressive: true }).toBuffer(), true],
    ['palette', () => photo().png({ palette: true, colours: 16 }).toBuffer(), true],
    ['palette with transparency', () => photo().ensureAlpha(0.5).png({ palette: true, colours: 16 }).toBuffer(), true],
    ['1-bit gray (left to sharp)', () => photo().grayscale().png({ palette: true, colours: 2 }).toBuffer(), true],
    [
      'noise, 300x200 (several IDAT chunks, every row filter)',
      () => noise(300, 200, 3).png({ adaptiveFiltering: true, compressionLevel: 1 }).toBuffer(),
      true,
    ],
    ['gray noise with alpha, 131x67', () => noise(131, 67, 2).png({ adaptiveFiltering: true }).toBuffer(), true],
  ];
  beforeAll(() => loadPngDecoder());

  it.each(variants)('%s: the same tensor from either decoder', async (_name, make, _simple) => {
    const bytes = await make();
    for (const s of [plain(28, 28, 1), plain(64, 48, 3, { resize: 'resize-crop', ...IMAGENET })]) {
      const fast = await preprocess(bytes, s);
      const viaSharp = await preprocess(bytes, s, DEFAULT_IMAGE_LIMITS, { sharpOnly: true });
      expect(maxAbsDiff(fast.data, viaSharp.data)).toBe(0);
    }
  });

  it('leaves to sharp what fast-png would read differently: an EXIF orientation, a colour-key tRNS, low bit depths', async () => {
    const rgb = await photo().png().toBuffer();
    expect(pngInfo(rgb)).toMatchObject({ width: 96, height: 72, bitDepth: 8, colorType: 2, simple: true });
    const withChunk = (type: string) => {
      // The same file with one more (empty) chunk before IEND: only its type matters to pngInfo.
      const iend = rgb.length - 12;
      const chunk = Buffer.alloc(12);
      chunk.write(type, 4, 'latin1');
      return Buffer.concat([rgb.subarray(0, iend), chunk, rgb.subarray(iend)]);
    };
    expect(pngInfo(withChunk('eXIf'))!.simple).toBe(false);
    expect(pngInfo(withChunk('tRNS'))!.simple).toBe(false);
    expect(pngInfo(withChunk('acTL'))!.simple).toBe(false);
    expect(pngInfo(withChunk('tEXt'))!.simple).toBe(true);
    expect(pngInfo(await photo().grayscale().png({ palette: true, colours: 2 }).toBuffer())!.bitDepth).toBeLessThan(8);
    expect(pngInfo(fixture('rgb-37x23.jpg'))).toBeNull();
  });

  it('preprocesses small simple PNGs synchronously, and nothing else', async () => {
    const small = fixture('gray-29x31.png');
    const inline = preprocessSmallPng(small, plain(8, 8, 1), DEFAULT_IMAGE_LIMITS, 128 * 128);
    expect(inline).not.toBeNull();
    expect(maxAbsDiff(inline!.data, (await preprocess(small, plain(8, 8, 1))).data)).toBe(0);
    expect(preprocessSmallPng(fixture('rgb-96x72.png'), plain(8, 8, 1), DEFAULT_IMAGE_LIMITS, 64 * 64)).toBeNull();
    expect(preprocessSmallPng(fixture('rgb-37x23.jpg'), plain(8, 8, 1), DEFAULT_IMAGE_LIMITS, 128 * 128)).toBeNull();
  });

  it('decodes a PNG split into many IDAT chunks, and refuses one whose chunk CRC does not match', async () => {
    const bytes = await noise(300, 200, 3).png({ compressionLevel: 0 }).toBuffer();
    expect([...bytes.toString('latin1').matchAll(/IDAT/g)].length).toBeGreaterThan(1);
    const s = plain(32, 32, 3);
    expect(
      maxAbsDiff(
        (await preprocess(bytes, s)).data,
        (await preprocess(bytes, s, DEFAULT_IMAGE_LIMITS, { sharpOnly: true })).data,
      ),
    ).toBe(0);
    const corrupt = Buffer.from(bytes);
    corrupt[bytes.indexOf('IDAT') + 100]! ^= 0x01;
    const e = await refusal(preprocess(corrupt, s));
    expect(e.code).toBe('INVALID_IMAGE');
    expect(e.message).toContain('CRC error in IDAT');
  });

  it('refuses a truncated PNG with INVALID_IMAGE from either decoder', async () => {
    for (const sharpOnly of [false, true]) {
      expect(
        (await refusal(preprocess(fixture('truncated.png'), plain(8, 8, 1), DEFAULT_IMAGE_LIMITS, { sharpOnly }))).code,
      ).toBe('INVALID_IMAGE');
    }
  });

  it('refuses an image whose resize for the model would be huge (a 20000x1 strip to resize-crop 224)', async () => {
    const strip = await sharp({ create: { width: 20000, height: 1, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const e = await refusal(preprocess(strip, plain(224, 224, 3, { resize: 'resize-crop' })));
    expect(e.code).toBe('PAYLOAD_TOO_LARGE');
    expect(e.message).toContain('resizing it for this model');
  });
});

describe('the preprocessing pool', () => {
  it('preprocesses off this thread what is not a small PNG, and leaves the caller its bytes', async () => {
    const pool = await ImagePool.create({
      workers: 1,
      nice: 0,
      limits: DEFAULT_IMAGE_LIMITS,
      logger: pino({ level: 'silent' }),
    });
    try {
      const jpeg = fixture('rgb-37x23.jpg');
      const s = plain(16, 16, 3, { ...IMAGENET });
      const [a, b] = await Promise.all([pool.preprocess(jpeg, s), pool.preprocess(jpeg, s)]);
      expect(jpeg.length).toBeGreaterThan(0);
      expect(maxAbsDiff(a.data, (await preprocess(jpeg, s)).data)).toBe(0);
      expect(maxAbsDiff(a.data, b.data)).toBe(0);
      expect((await refusal(pool.preprocess(fixture('truncated.jpg'), s))).code).toBe('INVALID_IMAGE');
    } finally {
      await pool.close();
    }
  });
});

describe('preprocess: refusals', () => {
  const s = plain(8, 8, 3);
  const ACCEPTED = 'only png, jpeg, webp, tiff, gif, avif are accepted';

  it.each([
    ['vector.svg', `the image is svg: ${ACCEPTED}`],
    ['doc.pdf', `the image is pdf: ${ACCEPTED}`],
    ['hevc.heic', `the image is heic: ${ACCEPTED}`],
    ['tiny.bmp', `the image is bmp: ${ACCEPTED}`],
    ['pixels.raw', `the bytes are not an image in a known format: ${ACCEPTED}`],
    ['not-an-image.txt', `the bytes are text, not an image: ${ACCEPTED}`],
    ['float32.tiff', 'the image has 32-bit float samples: only 8- and 16-bit images are accepted'],
  ])('refuses %s with INVALID_IMAGE', async (file, message) => {
    const e = await refusal(preprocess(fixture(file), s));
    expect(e.code).toBe('INVALID_IMAGE');
    expect(e.message).toBe(message);
  });

  it.each([
    ['truncated.png', /^the image is truncated or corrupt: \S.*/],
    ['truncated.jpg', /^the image is truncated or corrupt: \S.*/],
  ])('refuses %s (intact header, missing pixels) with INVALID_IMAGE', async (file, message) => {
    const e = await refusal(preprocess(fixture(file), s));
    expect(e.code).toBe('INVALID_IMAGE');
    expect(e.message).toMatch(message);
  });

  it('refuses an empty buffer', async () => {
    const e = await refusal(preprocess(Buffer.alloc(0), s));
    expect([e.code, e.message]).toEqual(['INVALID_IMAGE', 'the image is empty (0 bytes)']);
  });

  it('refuses too many pixels with PAYLOAD_TOO_LARGE, from the header', async () => {
    const limits: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, maxPixels: 1000 };
    const e = await refusal(preprocess(fixture('rgb-96x72.png'), s, limits));
    expect(e.code).toBe('PAYLOAD_TOO_LARGE');
    expect(e.message).toBe('the image has 6912 pixels (96x72), more than the 1000 allowed');
  });

  it('refuses too many bytes with PAYLOAD_TOO_LARGE', async () => {
    const small = await refusal(preprocess(fixture('rgb-37x23.png'), s, { ...DEFAULT_IMAGE_LIMITS, maxBytes: 100 }));
    expect([small.code, small.message]).toEqual([
      'PAYLOAD_TOO_LARGE',
      'the image is 2.3 KB, more than MAX_IMAGE_BYTES (100 bytes)',
    ]);
    const big = await refusal(preprocess(Buffer.alloc(21 * 1024 * 1024), s));
    expect(big.message).toBe('the image is 21 MB, more than MAX_IMAGE_BYTES (20 MB)');
  });

  it("names sharp's timeout and pixel-limit errors too", () => {
    const timeout = imageError(new Error('timeout: 40% complete'), Buffer.alloc(1), DEFAULT_IMAGE_LIMITS);
    expect([timeout.code, timeout.message]).toEqual([
      'INVALID_IMAGE',
      'decoding the image took longer than the 10 s allowed (timeout: 40% complete)',
    ]);
    const pixels = imageError(new Error('Input image exceeds pixel limit'), Buffer.alloc(1), DEFAULT_IMAGE_LIMITS);
    expect([pixels.code, pixels.message]).toEqual([
      'PAYLOAD_TOO_LARGE',
      'the image has more than the 50000000 pixels allowed',
    ]);
  });

  it('still serves a good image after all of the above', async () => {
    const bad = ['vector.svg', 'doc.pdf', 'truncated.png', 'truncated.jpg', 'not-an-image.txt', 'float32.tiff'];
    await Promise.all(bad.map((f) => refusal(preprocess(fixture(f), s))));
    const p = await preprocess(fixture('rgb-37x23.png'), s);
    expect(p.data).toHaveLength(3 * 8 * 8);
    expect(p.data.every(Number.isFinite)).toBe(true);
  });
});

describe('bytesFromBase64', () => {
  const png = fixture('rgb-12x8.png');
  const b64 = png.toString('base64');

  it('decodes plain base64, wrapped lines and data: URLs', () => {
    expect(bytesFromBase64(b64, 1000).equals(png)).toBe(true);
    expect(bytesFromBase64(b64.replace(/(.{76})/g, '$1\r\n'), 1000).equals(png)).toBe(true);
    expect(bytesFromBase64(`data:image/png;base64,${b64}`, 1000).equals(png)).toBe(true);
    expect(bytesFromBase64(` DATA:image/webp;name=x.webp;BASE64,${b64}`, 1000).equals(png)).toBe(true);
    expect(bytesFromBase64(b64.replace(/\+/g, '-').replace(/\//g, '_'), 1000).equals(png)).toBe(true);
  });

  it('refuses an oversized payload before decoding it', () => {
    const from = jest.spyOn(Buffer, 'from');
    try {
      const e = (() => {
        try {
          bytesFromBase64(b64, png.length - 1);
        } catch (err) {
          return err as DomainError;
        }
        throw new Error('accepted');
      })();
      expect(e.code).toBe('PAYLOAD_TOO_LARGE');
      expect(e.message).toBe(`the image is ${png.length} bytes, more than MAX_IMAGE_BYTES (${png.length - 1} bytes)`);
      expect(from).not.toHaveBeenCalled();
    } finally {
      from.mockRestore();
    }
    expect(bytesFromBase64(b64, png.length)).toHaveLength(png.length);
    const big = () => bytesFromBase64('A'.repeat(Math.ceil((21 * 1024 * 1024) / 3) * 4), DEFAULT_IMAGE_LIMITS.maxBytes);
    expect(big).toThrow('the image is 21 MB, more than MAX_IMAGE_BYTES (20 MB)');
  });

  it.each([
    ['data:text/plain;base64,aGVsbG8=', 'the data: URL has media type "text/plain": only image/* is accepted'],
    ['data:;base64,aGVsbG8=', 'the data: URL has media type text/plain (none given): only image/* is accepted'],
    ['data:image/png,%89PNG', 'the data: URL is not base64-encoded (";base64," is missing)'],
    ['data:image/png;base64', 'the data: URL has no "," before its data'],
    ['iVBORw0K$Ggo=', 'the image is not valid base64: character "$" at position 8'],
    ['iVBORw0KG', 'the image is not valid base64: bad length or padding'],
    ['iVBO=w0K', 'the image is not valid base64: bad length or padding'],
    ['', 'the image is empty (0 bytes)'],
  ])('refuses %j with INVALID_IMAGE', (input, message) => {
    let e: unknown;
    try {
      bytesFromBase64(input, 1000);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).code).toBe('INVALID_IMAGE');
    expect((e as DomainError).message).toBe(message);
  });
});
