import type { Interpolation } from '../../registry/input-spec';
import type { Raster } from './raster';

/*
 * Pillow's resampling (Resample.c), which torchvision's Resize runs on PIL images, reimplemented rather than
 * sharp's: measured on the fixtures, libvips' upsampling sits a quarter input pixel away from Pillow's (up to
 * 78 of 255 levels apart at edges when enlarging 37x23 to 64x48) and its reductions differ by up to 8 levels
 * (its own fixed point, and a box pre-shrink beyond 4x). With Pillow's filters, support scaling (antialiasing
 * when reducing), edge renormalization and 8-bit fixed-point rounding, the tensors equal torchvision 0.14.1 +
 * Pillow 9.4's to within float32 rounding (max 4.8e-7) for bilinear, bicubic, lanczos and nearest, reducing
 * and enlarging: tests/unit/preprocess.test.ts holds that. Cost: about 7 ms per input megapixel for RGB
 * bilinear and 15 ms for bicubic; it runs on a preprocessing thread, never the gateway's (image-pool.ts).
 */

/** Resampling filters as Pillow defines them (Resample.c): kernel and support at scale 1. */
const FILTERS: Record<Exclude<Interpolation, 'nearest'>, { kernel: (x: number) => number; support: number }> = {
  bilinear: { support: 1, kernel: (x) => ((x < 0 ? -x : x) < 1 ? 1 - (x < 0 ? -x : x) : 0) },
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
 */
export function resample(
  r: Raster,
  width: number,
  height: number,
  interpolation: Interpolation,
  eightBit: boolean,
): Raster {
  if (width === r.width && height === r.height) return r; // Pillow copies, torchvision returns the image as is
  if (interpolation === 'nearest') return nearest(r, width, height);
  const filter = FILTERS[interpolation];
  const vertical = taps(r.height, height, filter);
  let cur = r;
  if (width !== r.width) {
    const rowFirst = vertical.first[0]!;
    const rows = vertical.first[height - 1]! + vertical.count[height - 1]! - rowFirst;
    cur = horizontalPass(r, rowFirst, rows, taps(r.width, width, filter), eightBit);
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
  const out =
    r.data instanceof Uint8Array ? new Uint8Array(width * height * ch) : new Float32Array(width * height * ch);
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
