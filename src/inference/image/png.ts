import { DomainError, ErrorCode } from '../../common/errors';
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
  /** Whether fast-png decodes it to what sharp would. */
  simple: boolean;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Chunks whose meaning fast-png does not apply (or that sharp applies and we would not). */
const NOT_SIMPLE = new Set(['eXIf', 'acTL', 'CgBI']);

/** The IHDR fields and whether the file is simple, from the chunk headers alone; null when not a PNG. */
export function pngInfo(bytes: Buffer): PngInfo | null {
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(SIGNATURE) || bytes.toString('latin1', 12, 16) !== 'IHDR') return null;
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const bitDepth = bytes[24]!;
  const colorType = bytes[25]!;
  let simple = (([0, 2, 4, 6].includes(colorType) && (bitDepth === 8 || bitDepth === 16)) || (colorType === 3 && bitDepth === 8)) && width > 0 && height > 0;
  // Walk the chunk headers (a hop each, however large the data): what else the file declares.
  for (let at = 8; simple && at + 8 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (NOT_SIMPLE.has(type) || (type === 'tRNS' && colorType !== 3)) simple = false;
    if (type === 'IEND') break;
    at += 12 + length;
  }
  return { width, height, bitDepth, colorType, simple };
}

type FastPng = typeof import('fast-png', { with: { 'resolution-mode': 'import' } });
let loading: Promise<FastPng> | null = null;
let fastPng: FastPng | null = null;

/** fast-png is an ES module: loaded once, before the first synchronous decode. */
export async function loadPngDecoder(): Promise<void> {
  fastPng ??= await (loading ??= import('fast-png'));
}

/** A simple PNG's pixels (loadPngDecoder() first); a truncated or corrupt file is INVALID_IMAGE. */
export function decodeSimplePng(bytes: Buffer): { raster: Raster; is16: boolean } {
  if (!fastPng) throw new Error('decodeSimplePng() before loadPngDecoder()');
  try {
    const png = fastPng.decode(bytes, { checkCrc: true });
    if (png.palette) {
      const data = fastPng.convertIndexedToRgb(png);
      return { raster: { data, width: png.width, height: png.height, channels: data.length / (png.width * png.height) }, is16: false };
    }
    const is16 = png.depth === 16;
    const data = is16 ? (png.data as Uint16Array) : new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length);
    return { raster: { data, width: png.width, height: png.height, channels: png.channels }, is16 };
  } catch (e) {
    throw new DomainError(ErrorCode.INVALID_IMAGE, `the image is truncated or corrupt: ${(e as Error).message.split('\n')[0]!.trim()}`);
  }
}
