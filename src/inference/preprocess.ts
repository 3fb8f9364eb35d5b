import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { DomainError, ErrorCode } from '../common/errors';
import { DEFAULT_INTERPOLATION, type InputSpec, type Interpolation } from '../registry/input-spec';
import { tooManyBytes } from './image-input';

export { bytesFromBase64 } from './image-input';

/**
 * Image bytes → the float32 input tensor of one image, as the version's `inputSpec` describes it. The same
 * function serves inference and the training-parity checks, so what a model saw in training (a torchvision
 * `Compose` over PIL images) is what it sees here:
 *
 * 1. Refuse early, before any pixel is decoded: size in bytes, format (from sharp's header read: png, jpeg,
 *    webp, tiff, gif, avif; never svg, pdf, heic, raw dumps...), sample depth, pixel count.
 * 2. Decode with sharp: first frame or page only, EXIF orientation applied, `failOn: 'error'` (a truncated
 *    file is an error, not a half-grey image), embedded ICC profiles ignored (PIL does not apply them either,
 *    so a Display-P3 photo keeps the raw values a PIL-trained model saw). 16-bit samples stay 16-bit.
 * 3. Alpha is flattened on WHITE (255,255,255, or 65535 at 16 bits): a transparent region reads as blank
 *    paper, not as whatever colour the encoder left under it. The PIL equivalent is
 *    `Image.alpha_composite(white, img.convert('RGBA')).convert('RGB')`; a plain `convert('RGB')` would drop
 *    alpha and keep that hidden colour.
 * 4. Channels: RGB→gray is PIL's `convert('L')` (ITU-R 601-2 luma, rounded), gray→RGB replicates the channel.
 * 5. Resize, crop or pad, then `x / scale` and `(x - mean) / std`, into float32 in spec.layout order.
 *
 * torchvision equivalents (W×H = spec.width×spec.height, interpolation as spec.interpolation, default bilinear):
 * - `resize`: `Resize((H, W))`.
 * - `resize-crop`: `Resize(S)` with `S = floor(max(W, H) / cropRatio)` (timm's `floor(img_size / crop_pct)`;
 *   224/0.875 = 256), i.e. shorter side to S and longer side to `int(S * long / short)` as torchvision 0.14
 *   truncates it, then `CenterCrop((H, W))` with torchvision's offsets `int(round((h - H) / 2.0))` (Python's
 *   round: half to even). Using max(W, H) means the crop always fits, so CenterCrop's zero padding never occurs.
 * - `letterbox` (no torchvision transform): fit inside W×H keeping the aspect ratio (sides rounded, at least
 *   1 px), centred (offsets floored), the border filled with black (0) BEFORE normalization, like CenterCrop's
 *   fill, so it normalizes to -mean/std.
 * - then `ToTensor()` (scale 255) and `Normalize(mean, std)`.
 *
 * Resampling is Pillow's algorithm (what torchvision's Resize runs on PIL images), reimplemented here rather
 * than sharp's: measured on the fixtures, libvips' upsampling sits a quarter input pixel away from Pillow's
 * (up to 78 of 255 levels apart at edges when enlarging 37x23 to 64x48) and its reductions differ by up to 8
 * levels (its own fixed point, and a box pre-shrink beyond 4x). With Pillow's filters, support scaling
 * (antialiasing when reducing), edge renormalization and 8-bit fixed-point rounding, the tensors equal
 * torchvision 0.14.1 + Pillow 9.4's to within float32 rounding (max 4.8e-7) for bilinear, bicubic, lanczos
 * and nearest, reducing and enlarging: tests/unit/preprocess.test.ts holds that and our own golden values.
 * Cost: about 7 ms per input megapixel for RGB bilinear and 15 ms for bicubic (12 MP photo to 256 px: 90 ms /
 * 170 ms on this project's 2-core machine; decoding it in sharp, off the event loop: 110 ms). It runs on the
 * event loop's thread in slices of about 2 ms, so other requests are served in between.
 *
 * 16-bit images (medical images are often 16-bit gray) are decoded, flattened, converted and resized without
 * rounding and mapped to the 8-bit convention only at normalization, as v / 257 in float: 65535 → 255 → 1.0
 * with scale 255, and every one of the 65536 levels stays distinct. (PIL would clip an `I;16` image at 255 in
 * `convert('L')`, so there is no PIL behaviour to match here.)
 */

export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
  /** Wall-clock budget for sharp's decoding of one image (whole seconds); 0 disables it. */
  timeoutSeconds: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = Object.freeze({
  maxBytes: 20 * 1024 * 1024,
  maxPixels: 50_000_000,
  timeoutSeconds: 10,
});

export interface Preprocessed {
  /** float32 tensor data of ONE image, in spec.layout order without the batch dim: C*H*W (NCHW) or H*W*C (NHWC). */
  data: Float32Array;
  /** [C,H,W] or [H,W,C] per spec.layout */
  dims: [number, number, number];
  timings: { decode: number; preprocess: number }; // ms
  source: { format: string; width: number; height: number; channels: number; bitDepth: 8 | 16 };
}

export const ACCEPTED_FORMATS = ['png', 'jpeg', 'webp', 'tiff', 'gif', 'avif'] as const;
const ACCEPTED_LIST = ACCEPTED_FORMATS.join(', ');

const DEPTH_NAMES: Record<string, string> = {
  char: 'signed 8-bit',
  short: 'signed 16-bit',
  uint: '32-bit integer',
  int: 'signed 32-bit integer',
  float: '32-bit float',
  double: '64-bit float',
  complex: 'complex',
  dpcomplex: 'complex',
};

const invalid = (message: string, details?: Record<string, unknown>) => new DomainError(ErrorCode.INVALID_IMAGE, message, details);

/** Interleaved pixels, 1 to 4 channels (alpha last): 8-bit as decoded, 16-bit as decoded or in float once computed on. */
export interface Raster {
  data: Uint8Array | Uint16Array | Float32Array;
  width: number;
  height: number;
  channels: number;
}

export async function preprocess(bytes: Buffer, spec: InputSpec, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Promise<Preprocessed> {
  const t0 = performance.now();
  if (bytes.length === 0) throw invalid('the image is empty (0 bytes)');
  if (bytes.length > limits.maxBytes) throw tooManyBytes(bytes.length, limits.maxBytes);

  const header = await readHeader(bytes, limits);
  const release = await reservePixels(header.pixels, limits.maxPixels);
  try {
    const { raster, source, is16 } = await decode(bytes, header, limits);
    const t1 = performance.now();

    const flat = toChannels(raster, spec.channels, is16);
    const geometry = plan(flat.width, flat.height, spec);
    const resized = await resampleYielding(flat, geometry.width, geometry.height, spec.interpolation ?? DEFAULT_INTERPOLATION, !is16);
    const data = normalize(resized, geometry, spec, is16);
    const t2 = performance.now();

    const { width: W, height: H, channels: C } = spec;
    return {
      data,
      dims: spec.layout === 'NCHW' ? [C, H, W] : [H, W, C],
      timings: { decode: t1 - t0, preprocess: t2 - t1 },
      source,
    };
  } finally {
    release();
  }
}

/**
 * A process-wide budget of pixels being decoded at once (twice MAX_IMAGE_PIXELS): a decoded image
 * holds up to width x height x 3 bytes (150 MB at 50 MP), so a burst of large images queues here,
 * while small ones (the common case) pass freely and still reach the batcher together.
 */
async function reservePixels(pixels: number, maxPixels: number): Promise<() => void> {
  const capacity = 2 * maxPixels;
  while (pixelsInFlight > 0 && pixelsInFlight + pixels > capacity) await new Promise<void>((resolve) => waiting.push(resolve));
  pixelsInFlight += pixels;
  return () => {
    pixelsInFlight -= pixels;
    // Wake everyone: each re-checks whether its image fits now.
    for (const wake of waiting.splice(0)) wake();
  };
}

let pixelsInFlight = 0;
const waiting: (() => void)[] = [];

const DECODE_OPTIONS: sharp.SharpOptions = { failOn: 'error', page: 0, pages: 1, animated: false, ignoreIcc: true };

interface Header {
  meta: sharp.Metadata;
  format: string;
  is16: boolean;
  pixels: number;
}

/** The header only: format, sample depth and pixel count are refused before any pixel is decoded. */
async function readHeader(bytes: Buffer, limits: ImageLimits): Promise<Header> {
  let meta: sharp.Metadata;
  try {
    // The pixel limit is checked below with a message that gives the count.
    meta = await sharp(bytes, { ...DECODE_OPTIONS, limitInputPixels: false }).metadata();
  } catch (e) {
    throw imageError(e, bytes, limits);
  }
  const format = meta.format === 'heif' ? (meta.compression === 'av1' ? 'avif' : 'heic') : meta.format;
  if (!(ACCEPTED_FORMATS as readonly string[]).includes(format)) {
    throw invalid(`the image is ${format}: only ${ACCEPTED_LIST} are accepted`, { format });
  }
  if (meta.depth !== 'uchar' && meta.depth !== 'ushort') {
    throw invalid(`the image has ${DEPTH_NAMES[meta.depth] ?? meta.depth} samples: only 8- and 16-bit images are accepted`, { depth: meta.depth });
  }
  const width = meta.width;
  const height = meta.pageHeight ?? meta.height;
  const pixels = width * height;
  if (pixels > limits.maxPixels) {
    throw new DomainError(ErrorCode.PAYLOAD_TOO_LARGE, `the image has ${pixels} pixels (${width}x${height}), more than the ${limits.maxPixels} allowed`, {
      pixels,
      maxPixels: limits.maxPixels,
    });
  }
  return { meta, format, is16: meta.depth === 'ushort', pixels };
}

async function decode(bytes: Buffer, { meta, format, is16 }: Header, limits: ImageLimits) {
  const options: sharp.SharpOptions = { ...DECODE_OPTIONS, limitInputPixels: Math.max(1, Math.floor(limits.maxPixels)) };
  const grey = meta.space === 'b-w' || meta.space === 'grey16';
  // Name the output colourspace, or sharp converts everything to 8-bit sRGB. 8-bit gray+alpha goes through
  // sRGB (gray replicated) because sharp's raw output keeps only the first band of a 'b-w' image.
  const colourspace = is16 ? (grey ? 'grey16' : 'rgb16') : grey && !meta.hasAlpha ? 'b-w' : 'srgb';
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    let pipeline = sharp(bytes, options)
      .autoOrient()
      .toColourspace(colourspace)
      .raw({ depth: is16 ? 'ushort' : 'uchar' });
    // sharp counts whole seconds, 0 = no limit.
    if (limits.timeoutSeconds > 0) pipeline = pipeline.timeout({ seconds: Math.min(3600, Math.ceil(limits.timeoutSeconds)) });
    out = await pipeline.toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw imageError(e, bytes, limits);
  }
  const { info } = out;
  if (info.channels < 1 || info.channels > 4) throw invalid(`the image has ${info.channels} channels: only gray and RGB, with or without alpha, are accepted`);
  const raster: Raster = { data: is16 ? uint16View(out.data) : out.data, width: info.width, height: info.height, channels: info.channels };
  return {
    raster,
    is16,
    source: { format, width: info.width, height: info.height, channels: meta.channels, bitDepth: is16 ? (16 as const) : (8 as const) },
  };
}

function uint16View(buf: Buffer): Uint16Array {
  if (buf.byteOffset % 2 === 0) return new Uint16Array(buf.buffer, buf.byteOffset, buf.length / 2);
  const copy = new Uint16Array(buf.length / 2);
  new Uint8Array(copy.buffer).set(buf);
  return copy;
}

/**
 * Flattens alpha (on white) and converts to the spec's channel count. gray→RGB is left to `normalize`
 * (replicating before resizing would resize three identical planes for the same result). 8-bit results are
 * 8-bit images, as PIL would hold them; 16-bit results stay in float.
 */
function toChannels(r: Raster, target: 1 | 3, is16: boolean): Raster {
  const hasAlpha = r.channels === 2 || r.channels === 4;
  const colour = hasAlpha ? r.channels - 1 : r.channels;
  if (!hasAlpha && (colour === target || colour === 1)) return r;

  const max = is16 ? 65535 : 255;
  const outChannels = target === 1 ? 1 : colour;
  const n = r.width * r.height;
  const src = r.data;
  const dst = is16 ? new Float32Array(n * outChannels) : new Uint8Array(n * outChannels);
  const c = r.channels;
  const px = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const o = i * c;
    const a = hasAlpha ? src[o + colour]! : max;
    for (let k = 0; k < colour; k++) {
      // White background: v·a + max·(1 − a), in integers, then one division (and at 8 bits one rounding).
      const v = hasAlpha ? (src[o + k]! * a + max * (max - a)) / max : src[o + k]!;
      px[k] = is16 ? v : Math.round(v);
    }
    if (outChannels === 1 && colour === 3) {
      // PIL's convert('L') is L = R*299/1000 + G*587/1000 + B*114/1000 (ITU-R 601-2), computed in 16-bit fixed
      // point and ROUNDED to an integer (Convert.c: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16). Matched bit
      // for bit at 8 bits (checked on 65,536 random colours against Pillow 9.4); in float, unrounded, at 16.
      dst[i] = is16
        ? (px[0]! * 299 + px[1]! * 587 + px[2]! * 114) / 1000
        : (px[0]! * 19595 + px[1]! * 38470 + px[2]! * 7471 + 0x8000) >>> 16;
    } else {
      for (let k = 0; k < outChannels; k++) dst[i * outChannels + k] = px[k]!;
    }
  }
  return { data: dst, width: r.width, height: r.height, channels: outChannels };
}

/** Size the image is resized to, and where the W×H output window starts in it (negative: padding). */
interface Geometry {
  width: number;
  height: number;
  left: number;
  top: number;
}

export function plan(w: number, h: number, spec: Pick<InputSpec, 'width' | 'height' | 'resize' | 'cropRatio'>): Geometry {
  const { width: W, height: H } = spec;
  switch (spec.resize) {
    case 'resize':
      return { width: W, height: H, left: 0, top: 0 };
    case 'resize-crop': {
      // The epsilon keeps 224/0.875-style quotients that land a hair under an integer from losing a pixel.
      const S = Math.floor(Math.max(W, H) / (spec.cropRatio ?? 0.875) + 1e-9);
      // torchvision 0.14 _compute_resized_output_size: new_long = int(new_short * long / short).
      const [rw, rh] = w <= h ? [S, Math.floor((S * h) / w)] : [Math.floor((S * w) / h), S];
      return { width: rw, height: rh, left: roundHalfEven((rw - W) / 2), top: roundHalfEven((rh - H) / 2) };
    }
    case 'letterbox': {
      const scale = Math.min(W / w, H / h);
      const rw = Math.min(W, Math.max(1, Math.round(w * scale)));
      const rh = Math.min(H, Math.max(1, Math.round(h * scale)));
      // Negative offsets: the image starts floor((W - rw) / 2) pixels in.
      return { width: rw, height: rh, left: Math.ceil((rw - W) / 2), top: Math.ceil((rh - H) / 2) };
    }
  }
}

/** Python 3's round(): halves go to the even neighbour (CenterCrop's offsets use it). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Resampling filters as Pillow defines them (Resample.c): kernel and support at scale 1. */
const FILTERS: Record<Exclude<Interpolation, 'nearest'>, { kernel: (x: number) => number; support: number }> = {
  bilinear: { support: 1, kernel: (x) => (x < 0 ? -x : x) < 1 ? 1 - (x < 0 ? -x : x) : 0 },
  bicubic: { support: 2, kernel: bicubic },
  lanczos: { support: 3, kernel: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

function bicubic(x: number): number {
  const a = -0.5; // Keys' cubic convolution, as Pillow and OpenCV use
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

/** For each output position along one axis: first input index, tap count, and normalized weights. */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  /** weights as Pillow's 8-bit path uses them: fixed point with 22 fractional bits */
  fixed: Int32Array;
  stride: number;
}

const PRECISION_BITS = 22; // Pillow: 32 - 8 - 2 (8 bits of result, 2 bits of headroom for negative lobes)

/**
 * Pillow's precompute_coeffs: the kernel is stretched by the reduction factor when downscaling (that is the
 * antialiasing), centred on the output pixel's centre in input coordinates, cut at the image edges and
 * renormalized there. Same double arithmetic, same truncations.
 */
function taps(inSize: number, outSize: number, filter: { kernel: (x: number) => number; support: number }): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * stride);
  const fixed = new Int32Array(outSize * stride);
  const ss = 1 / filterScale;
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const w = filter.kernel((i + lo - center + 0.5) * ss);
      weights[o * stride + i] = w;
      sum += w;
    }
    for (let i = 0; i < n; i++) {
      const j = o * stride + i;
      if (sum !== 0) weights[j] = weights[j]! / sum;
      const v = weights[j]! * (1 << PRECISION_BITS);
      fixed[j] = Math.trunc(v < 0 ? v - 0.5 : v + 0.5);
    }
    first[o] = lo;
    count[o] = n;
  }
  return { first, count, weights, fixed, stride };
}

/**
 * Resizes like Pillow's `Image.resize` (which torchvision's Resize calls on PIL images): separable, horizontal
 * pass first over only the rows the vertical pass needs, then vertical. 8-bit images use Pillow's fixed-point
 * arithmetic and round to 8 bits after each pass, so the result is bit-identical to Pillow's; 16-bit images
 * are resampled in float with the same weights and never rounded (full range until normalization).
 * About 10 ms per megapixel of input for RGB bilinear (measured, see tests): preprocess() uses
 * resampleYielding(), which runs the same steps in slices.
 */
export function resample(r: Raster, width: number, height: number, interpolation: Interpolation, eightBit: boolean): Raster {
  const steps = resampleSteps(r, width, height, interpolation, eightBit);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * resample(), giving the event loop a turn between slices of about SLICE_PIXELS input pixels: a
 * 12 MP photo then costs other requests a few milliseconds at a time, not ~100 ms in one block.
 */
export async function resampleYielding(r: Raster, width: number, height: number, interpolation: Interpolation, eightBit: boolean): Promise<Raster> {
  const steps = resampleSteps(r, width, height, interpolation, eightBit);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

const SLICE_PIXELS = 256 * 1024;

/** The one resampling code path; yields between slices of rows of the (costly) horizontal pass. */
function* resampleSteps(r: Raster, width: number, height: number, interpolation: Interpolation, eightBit: boolean): Generator<void, Raster> {
  if (width === r.width && height === r.height) return r; // Pillow copies, torchvision returns the image as is
  if (interpolation === 'nearest') return nearest(r, width, height);
  const filter = FILTERS[interpolation];
  const vertical = taps(r.height, height, filter);
  let cur = r;
  if (width !== r.width) {
    const rowFirst = vertical.first[0]!;
    const rows = vertical.first[height - 1]! + vertical.count[height - 1]! - rowFirst;
    const horizontal = taps(r.width, width, filter);
    const slice = Math.max(1, Math.floor(SLICE_PIXELS / r.width));
    const out = eightBit ? new Uint8Array(width * rows * r.channels) : new Float32Array(width * rows * r.channels);
    for (let y = 0; y < rows; y += slice) {
      out.set(horizontalPass(r, rowFirst + y, Math.min(slice, rows - y), horizontal, eightBit).data, y * width * r.channels);
      if (y + slice < rows) yield;
    }
    cur = { data: out, width, height: rows, channels: r.channels };
    for (let o = 0; o < height; o++) vertical.first[o]! -= rowFirst;
  }
  if (height !== r.height) cur = verticalPass(cur, vertical, eightBit);
  return cur;
}

const HALF = 1 << (PRECISION_BITS - 1); // Pillow starts each 8-bit sum at one half, so the shift rounds

/** Rows rowFirst.. of r resampled along x. Three-channel images get one pass per pixel, not per channel. */
function horizontalPass(r: Raster, rowFirst: number, rows: number, t: Taps, eightBit: boolean): Raster {
  const width = t.first.length;
  const ch = r.channels;
  const src = r.data;
  const k = eightBit ? t.fixed : t.weights;
  const init = eightBit ? HALF : 0;
  const out = eightBit ? new Uint8Array(width * rows * ch) : new Float32Array(width * rows * ch);
  for (let y = 0; y < rows; y++) {
    const row = (y + rowFirst) * r.width * ch;
    for (let o = 0; o < width; o++) {
      const kb = o * t.stride;
      const n = t.count[o]!;
      let p = row + t.first[o]! * ch;
      const d = (y * width + o) * ch;
      if (ch === 3) {
        let a0 = init;
        let a1 = init;
        let a2 = init;
        for (let i = 0; i < n; i++, p += 3) {
          const w = k[kb + i]!;
          a0 += src[p]! * w;
          a1 += src[p + 1]! * w;
          a2 += src[p + 2]! * w;
        }
        out[d] = eightBit ? clip8(a0) : a0;
        out[d + 1] = eightBit ? clip8(a1) : a1;
        out[d + 2] = eightBit ? clip8(a2) : a2;
      } else {
        for (let c = 0; c < ch; c++) {
          let acc = init;
          for (let i = 0, q = p + c; i < n; i++, q += ch) acc += src[q]! * k[kb + i]!;
          out[d + c] = eightBit ? clip8(acc) : acc;
        }
      }
    }
  }
  return { data: out, width, height: rows, channels: ch };
}

/** Resampled along y, a whole row at a time (contiguous reads, one accumulator row). */
function verticalPass(r: Raster, t: Taps, eightBit: boolean): Raster {
  const height = t.first.length;
  const line = r.width * r.channels;
  const src = r.data;
  const k = eightBit ? t.fixed : t.weights;
  const out = eightBit ? new Uint8Array(line * height) : new Float32Array(line * height);
  const acc = new Float64Array(line);
  for (let o = 0; o < height; o++) {
    acc.fill(eightBit ? HALF : 0);
    const kb = o * t.stride;
    const n = t.count[o]!;
    for (let i = 0; i < n; i++) {
      const w = k[kb + i]!;
      const base = (t.first[o]! + i) * line;
      for (let x = 0; x < line; x++) acc[x] += src[base + x]! * w;
    }
    const d = o * line;
    if (eightBit) for (let x = 0; x < line; x++) out[d + x] = clip8(acc[x]!);
    else out.set(acc, d);
  }
  return { data: out, width: r.width, height, channels: r.channels };
}

function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Pillow's nearest-neighbour resize (an affine transform sampling at output pixel centres): source index
 * floor((o + 0.5) * in / out), with the position accumulated by repeated addition exactly as Pillow does,
 * so the rare ties round the same way.
 */
function nearest(r: Raster, width: number, height: number): Raster {
  const index = (inSize: number, outSize: number) => {
    const step = inSize / outSize;
    const idx = new Int32Array(outSize);
    let pos = step * 0.5;
    for (let o = 0; o < outSize; o++, pos += step) idx[o] = Math.min(pos < 0 ? 0 : Math.trunc(pos), inSize - 1);
    return idx;
  };
  const xs = index(r.width, width);
  const ys = index(r.height, height);
  const ch = r.channels;
  const out = r.data instanceof Uint8Array ? new Uint8Array(width * height * ch) : new Float32Array(width * height * ch);
  for (let y = 0; y < height; y++) {
    const row = ys[y]! * r.width;
    for (let x = 0; x < width; x++) {
      const s = (row + xs[x]!) * ch;
      const d = (y * width + x) * ch;
      for (let c = 0; c < ch; c++) out[d + c] = r.data[s + c]!;
    }
  }
  return { data: out, width, height, channels: ch };
}

/** Crop or pad to W×H, replicate gray to RGB if asked, then x / scale and (x - mean) / std, into float32. */
function normalize(r: Raster, g: Geometry, spec: InputSpec, is16: boolean): Float32Array {
  const { width: W, height: H, channels: C } = spec;
  const out = new Float32Array(C * H * W);
  const src = r.data;
  const k = r.channels;
  // 16-bit → the 0..255 convention without rounding: v / 257 maps 65535 to exactly 255.
  const div = is16 ? 257 : 1;
  const nchw = spec.layout === 'NCHW';
  for (let c = 0; c < C; c++) {
    const mean = spec.mean[c]!;
    const std = spec.std[c]!;
    const pad = (0 - mean) / std;
    const from = k === 1 ? 0 : c;
    for (let y = 0; y < H; y++) {
      const sy = y + g.top;
      const rowInside = sy >= 0 && sy < r.height;
      for (let x = 0; x < W; x++) {
        const sx = x + g.left;
        const value = rowInside && sx >= 0 && sx < r.width ? (src[(sy * r.width + sx) * k + from]! / div / spec.scale - mean) / std : pad;
        out[nchw ? (c * H + y) * W + x : (y * W + x) * C + c] = value;
      }
    }
  }
  return out;
}

/** Turns whatever sharp threw into INVALID_IMAGE / PAYLOAD_TOO_LARGE with a message naming the problem. */
export function imageError(e: unknown, bytes: Buffer, limits: ImageLimits): DomainError {
  if (e instanceof DomainError) return e;
  const first = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
  if (/unsupported image format|is empty/i.test(first)) {
    const kind = sniff(bytes);
    if (kind === 'empty') return invalid('the image is empty (0 bytes)');
    if (kind === 'text') return invalid(`the bytes are text, not an image: only ${ACCEPTED_LIST} are accepted`);
    if (kind) return invalid(`the image is ${kind}: only ${ACCEPTED_LIST} are accepted`, { format: kind });
    return invalid(`the bytes are not an image in a known format: only ${ACCEPTED_LIST} are accepted`);
  }
  if (/exceeds pixel limit/i.test(first)) {
    return new DomainError(ErrorCode.PAYLOAD_TOO_LARGE, `the image has more than the ${limits.maxPixels} pixels allowed`, { maxPixels: limits.maxPixels });
  }
  if (/^timeout/i.test(first)) {
    return invalid(`decoding the image took longer than the ${limits.timeoutSeconds} s allowed (${first})`, { timeoutSeconds: limits.timeoutSeconds });
  }
  return invalid(`the image is truncated or corrupt: ${first}`);
}

/** Names formats sharp cannot even open, so the refusal says what the file is rather than what it is not. */
function sniff(b: Buffer): string | undefined {
  if (b.length === 0) return 'empty';
  const head = b.subarray(0, 16);
  const ascii = head.toString('latin1');
  if (b.subarray(0, 1024).includes('%PDF-')) return 'pdf';
  if (ascii.startsWith('BM') && b.length >= 26 && [12, 40, 52, 56, 64, 108, 124].includes(b.readUInt32LE(14))) return 'bmp';
  if (ascii.startsWith('8BPS')) return 'psd';
  if (ascii.startsWith('\xff\x0a') || ascii.slice(4, 12) === 'JXL \r\n\x87\n') return 'jxl';
  if (ascii.slice(4, 12) === 'jP  \r\n\x87\n' || ascii.startsWith('\xff\x4f\xff\x51')) return 'jpeg 2000';
  if (ascii.startsWith('\x00\x00\x01\x00') || ascii.startsWith('\x00\x00\x02\x00')) return 'ico';
  if (looksLikeText(b.subarray(0, 4096))) return 'text';
  return undefined;
}

function looksLikeText(b: Buffer): boolean {
  if (b.length === 0) return false;
  let printable = 0;
  for (const byte of b) if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127) || byte >= 128) printable++;
  return printable === b.length && !b.includes(0);
}
