import { crc32, inflateSync } from 'node:zlib';
import { invalidImage } from '../../common/errors';
import type { Raster } from './raster';

/**
 * PNGs that a pure-JS decoder (fast-png) turns into exactly the pixels sharp/libvips would: 8- or
 * 16-bit gray, RGB, gray+alpha or RGBA, or an 8-bit palette (expanded, its tRNS becoming alpha as
 * libvips does). Anything else (1-4 bit gray, a colour-key tRNS, an EXIF orientation, animation,
 * Apple's CgBI) goes to sharp. Decoding such a PNG costs about 50 µs at 28x28 against about 1 ms
 * for a sharp call through the libuv pool, which is what bounded small-image throughput.
 */
export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
  /** Whether fast-png decodes it to what sharp would. */
  simple: boolean;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Chunks whose meaning fast-png does not apply (or that sharp applies and we would not). */
const NOT_SIMPLE = new Set(['eXIf', 'acTL', 'CgBI']);

/** The IHDR fields and whether the file is simple, from the chunk headers alone; null when not a PNG. */
export function pngInfo(bytes: Buffer): PngInfo | null {
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(SIGNATURE) || bytes.toString('latin1', 12, 16) !== 'IHDR')
    return null;
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const bitDepth = bytes[24]!;
  const colorType = bytes[25]!;
  const interlaced = bytes[28] === 1;
  let simple =
    (([0, 2, 4, 6].includes(colorType) && (bitDepth === 8 || bitDepth === 16)) ||
      (colorType === 3 && bitDepth === 8)) &&
    width > 0 &&
    height > 0;
  // Walk the chunk headers (a hop each, however large the data): what else the file declares.
  for (let at = 8; simple && at + 8 <= bytes.length;) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (NOT_SIMPLE.has(type) || (type === 'tRNS' && colorType !== 3)) simple = false;
    if (type === 'IEND') break;
    at += 12 + length;
  }
  return { width, height, bitDepth, colorType, interlaced, simple };
}

type FastPng = typeof import('fast-png', { with: { 'resolution-mode': 'import' } });
let loading: Promise<FastPng> | null = null;
let fastPng: FastPng | null = null;

/** fast-png is an ES module: loaded once, before the first synchronous decode. */
export async function loadPngDecoder(): Promise<void> {
  fastPng ??= await (loading ??= import('fast-png'));
}

/** Channels of each colour type that has its samples in the image data (not a palette). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/**
 * A simple PNG's pixels (loadPngDecoder() first); a truncated or corrupt file is INVALID_IMAGE. The
 * most common kind, 8-bit and not interlaced (what the gateway's thread decodes for small images),
 * is inflated by Node's zlib and unfiltered here: about 15 µs at 28x28 against 50 µs in fast-png,
 * whose JavaScript inflate dominated a small prediction's cost. Everything else goes to fast-png.
 */
export function decodeSimplePng(bytes: Buffer, info: PngInfo = pngInfo(bytes)!): { raster: Raster; is16: boolean } {
  try {
    if (info.bitDepth === 8 && !info.interlaced && CHANNELS[info.colorType])
      return { raster: inflatePng(bytes, info), is16: false };
    if (!fastPng) throw new Error('decodeSimplePng() before loadPngDecoder()');
    const png = fastPng.decode(bytes, { checkCrc: true });
    if (png.palette) {
      const data = fastPng.convertIndexedToRgb(png);
      return {
        raster: { data, width: png.width, height: png.height, channels: data.length / (png.width * png.height) },
        is16: false,
      };
    }
    const is16 = png.depth === 16;
    const data = is16
      ? (png.data as Uint16Array)
      : new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length);
    return { raster: { data, width: png.width, height: png.height, channels: png.channels }, is16 };
  } catch (e) {
    throw invalidImage(`the image is truncated or corrupt: ${(e as Error).message.split('\n')[0]!.trim()}`);
  }
}

/** 8-bit, non-interlaced: the IDAT chunks (CRCs checked) inflated, then each row unfiltered (PNG spec, section 9). */
function inflatePng(bytes: Buffer, { width, height, colorType }: PngInfo): Raster {
  const idat: Buffer[] = [];
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = bytes.readUInt32BE(at);
    if (at + 12 + length > bytes.length) throw new Error('a chunk runs past the end of the file');
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (type === 'IHDR' || type === 'IDAT') {
      if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== bytes.readUInt32BE(at + 8 + length))
        throw new Error(`CRC error in ${type}`);
      if (type === 'IDAT') idat.push(bytes.subarray(at + 8, at + 8 + length));
    }
    if (type === 'IEND') break;
    at += 12 + length;
  }
  if (idat.length === 0) throw new Error('no image data (IDAT)');
  const channels = CHANNELS[colorType]!;
  const stride = width * channels;
  const filtered = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat));
  if (filtered.length < height * (stride + 1)) throw new Error('the image data is shorter than the image');
  const out = new Uint8Array(stride * height);
  for (let y = 0, p = 0; y < height; y++) {
    const filter = filtered[p++]!;
    const row = y * stride;
    for (let x = 0; x < stride; x++, p++) {
      const left = x >= channels ? out[row + x - channels]! : 0;
      const up = y > 0 ? out[row - stride + x]! : 0;
      const upLeft = x >= channels && y > 0 ? out[row - stride + x - channels]! : 0;
      out[row + x] = (filtered[p]! + predict(filter, left, up, upLeft)) & 0xff;
    }
  }
  return { data: out, width, height, channels };
}

function predict(filter: number, left: number, up: number, upLeft: number): number {
  switch (filter) {
    case 0:
      return 0;
    case 1:
      return left;
    case 2:
      return up;
    case 3:
      return (left + up) >> 1;
    case 4: {
      const p = left + up - upLeft;
      const pa = Math.abs(p - left);
      const pb = Math.abs(p - up);
      const pc = Math.abs(p - upLeft);
      return pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
    }
    default:
      throw new Error(`unknown row filter ${filter}`);
  }
}
