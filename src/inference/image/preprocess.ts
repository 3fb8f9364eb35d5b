import { performance } from 'node:perf_hooks';
import { payloadTooLarge } from '../../common/errors';
import { DEFAULT_INTERPOLATION, type InputSpec } from '../../registry/input-spec';
import { decodeImage, decodeSmallPng, DEFAULT_IMAGE_LIMITS, type Decoded, type ImageLimits } from './decode';
import type { Raster } from './raster';
import { resample } from './resample';

/**
 * Image bytes → the float32 input tensor of one image, as the version's `inputSpec` describes it. The same
 * function serves inference and the training-parity checks, so what a model saw in training (a torchvision
 * `Compose` over PIL images) is what it sees here:
 *
 * 1-2. Refuse early, then decode (decode.ts): size, format, sample depth and pixel count are checked before
 *    any pixel is decoded; simple PNGs by fast-png, everything else by sharp, EXIF orientation applied.
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
 * Resampling is Pillow's algorithm, reimplemented (resample.ts says why and how closely it matches).
 * Everything here runs on a preprocessing thread (image-pool.ts), except small simple PNGs, whose whole
 * preprocessing costs less than the hop to another thread.
 *
 * 16-bit images (medical images are often 16-bit gray) are decoded, flattened, converted and resized without
 * rounding and mapped to the 8-bit convention only at normalization, as v / 257 in float: 65535 → 255 → 1.0
 * with scale 255, and every one of the 65536 levels stays distinct. (PIL would clip an `I;16` image at 255 in
 * `convert('L')`, so there is no PIL behaviour to match here.)
 */

export interface Preprocessed {
  /** float32 tensor data of ONE image, in spec.layout order without the batch dim: C*H*W (NCHW) or H*W*C (NHWC). */
  data: Float32Array;
  /** [C,H,W] or [H,W,C] per spec.layout */
  dims: [number, number, number];
  timings: { decode: number; preprocess: number }; // ms
  source: { format: string; width: number; height: number; channels: number; bitDepth: 8 | 16 };
}

export async function preprocess(
  bytes: Buffer,
  spec: InputSpec,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
  opts: { sharpOnly?: boolean } = {},
): Promise<Preprocessed> {
  const t0 = performance.now();
  return tensor(await decodeImage(bytes, limits, opts), spec, limits, t0);
}

/** preprocess() for a small simple PNG, synchronously; null for any other image. */
export function preprocessSmallPng(
  bytes: Buffer,
  spec: InputSpec,
  limits: ImageLimits,
  maxPixels: number,
): Preprocessed | null {
  const t0 = performance.now();
  const decoded = decodeSmallPng(bytes, limits, maxPixels);
  return decoded && tensor(decoded, spec, limits, t0);
}

function tensor({ raster, is16, source }: Decoded, spec: InputSpec, limits: ImageLimits, t0: number): Preprocessed {
  const t1 = performance.now();
  const geometry = plan(raster.width, raster.height, spec);
  // resize-crop resizes the whole image before cropping: a 50000x1 strip would become 12800000x256.
  if (geometry.width * geometry.height > limits.maxPixels) {
    throw payloadTooLarge(
      `the image is ${raster.width}x${raster.height}: resizing it for this model would take ` +
        `${geometry.width}x${geometry.height} pixels, more than the ${limits.maxPixels} allowed`,
      {
        resizedPixels: geometry.width * geometry.height,
        maxPixels: limits.maxPixels,
      },
    );
  }
  const flat = toChannels(raster, spec.channels, is16);
  const resized = resample(flat, geometry.width, geometry.height, spec.interpolation ?? DEFAULT_INTERPOLATION, !is16);
  const data = normalize(resized, geometry, spec, is16);
  const { width: W, height: H, channels: C } = spec;
  return {
    data,
    dims: spec.layout === 'NCHW' ? [C, H, W] : [H, W, C],
    timings: { decode: t1 - t0, preprocess: performance.now() - t1 },
    source,
  };
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

export function plan(
  w: number,
  h: number,
  spec: Pick<InputSpec, 'width' | 'height' | 'resize' | 'cropRatio'>,
): Geometry {
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
        const value =
          rowInside && sx >= 0 && sx < r.width
            ? (src[(sy * r.width + sx) * k + from]! / div / spec.scale - mean) / std
            : pad;
        out[nchw ? (c * H + y) * W + x : (y * W + x) * C + c] = value;
      }
    }
  }
  return out;
}
