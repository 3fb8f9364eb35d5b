import sharp from 'sharp';
import { DomainError, invalidImage, payloadTooLarge } from '../../common/errors';
import { tooManyBytes } from './image-input';
import { decodeSimplePng, loadPngDecoder, pngInfo, type PngInfo } from './png';
import type { Raster } from './raster';

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

const invalid = (message: string, details?: Record<string, unknown>) => invalidImage(message, details);

export interface Decoded {
  raster: Raster;
  is16: boolean;
  source: { format: string; width: number; height: number; channels: number; bitDepth: 8 | 16 };
}

/**
 * Image bytes → pixels, refusing early, before any pixel is decoded: size in bytes, format (png, jpeg, webp,
 * tiff, gif, avif; never svg, pdf, heic, raw dumps...), sample depth, pixel count. Simple PNGs are decoded by
 * fast-png (png.ts: exactly the pixels sharp gives, without a trip through the libuv pool), everything else
 * by sharp: first frame or page only, EXIF orientation applied, `failOn: 'error'` (a truncated file is an
 * error, not a half-grey image), embedded ICC profiles ignored (PIL does not apply them either, so a
 * Display-P3 photo keeps the raw values a PIL-trained model saw). 16-bit samples stay 16-bit.
 */
export async function decodeImage(
  bytes: Buffer,
  limits: ImageLimits,
  opts: { sharpOnly?: boolean } = {},
): Promise<Decoded> {
  checkBytes(bytes, limits);
  const png = opts.sharpOnly ? null : pngInfo(bytes);
  if (png?.simple) {
    checkPixels(png.width, png.height, limits);
    await loadPngDecoder();
    return decodedPng(bytes, png);
  }
  return decodeWithSharp(bytes, await readHeader(bytes, limits), limits);
}

/**
 * decodeImage() for a simple PNG of at most `maxPixels` pixels, synchronously (a few hundred
 * microseconds at most, so the gateway's own thread may do it); null for anything else.
 */
export function decodeSmallPng(bytes: Buffer, limits: ImageLimits, maxPixels: number): Decoded | null {
  if (bytes.length === 0 || bytes.length > limits.maxBytes) return null;
  const png = pngInfo(bytes);
  if (!png?.simple || png.width * png.height > Math.min(maxPixels, limits.maxPixels)) return null;
  return decodedPng(bytes, png);
}

function checkBytes(bytes: Buffer, limits: ImageLimits): void {
  if (bytes.length === 0) throw invalid('the image is empty (0 bytes)');
  if (bytes.length > limits.maxBytes) throw tooManyBytes(bytes.length, limits.maxBytes);
}

function checkPixels(width: number, height: number, limits: ImageLimits): void {
  const pixels = width * height;
  if (pixels > limits.maxPixels) {
    throw payloadTooLarge(
      `the image has ${pixels} pixels (${width}x${height}), more than the ${limits.maxPixels} allowed`,
      {
        pixels,
        maxPixels: limits.maxPixels,
      },
    );
  }
}

const DECODE_OPTIONS: sharp.SharpOptions = { failOn: 'error', page: 0, pages: 1, animated: false, ignoreIcc: true };

interface Header {
  meta: sharp.Metadata;
  format: string;
  is16: boolean;
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
    throw invalid(
      `the image has ${DEPTH_NAMES[meta.depth] ?? meta.depth} samples: only 8- and 16-bit images are accepted`,
      { depth: meta.depth },
    );
  }
  const width = meta.width;
  const height = meta.pageHeight ?? meta.height;
  checkPixels(width, height, limits);
  return { meta, format, is16: meta.depth === 'ushort' };
}

async function decodeWithSharp(bytes: Buffer, { meta, format, is16 }: Header, limits: ImageLimits): Promise<Decoded> {
  const options: sharp.SharpOptions = {
    ...DECODE_OPTIONS,
    limitInputPixels: Math.max(1, Math.floor(limits.maxPixels)),
  };
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
    if (limits.timeoutSeconds > 0)
      pipeline = pipeline.timeout({ seconds: Math.min(3600, Math.ceil(limits.timeoutSeconds)) });
    out = await pipeline.toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw imageError(e, bytes, limits);
  }
  const { info } = out;
  if (info.channels < 1 || info.channels > 4)
    throw invalid(`the image has ${info.channels} channels: only gray and RGB, with or without alpha, are accepted`);
  const raster: Raster = {
    data: is16 ? uint16View(out.data) : out.data,
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
  return {
    raster,
    is16,
    source: {
      format,
      width: info.width,
      height: info.height,
      channels: meta.channels,
      bitDepth: is16 ? (16 as const) : (8 as const),
    },
  };
}

function uint16View(buf: Buffer): Uint16Array {
  if (buf.byteOffset % 2 === 0) return new Uint16Array(buf.buffer, buf.byteOffset, buf.length / 2);
  const copy = new Uint16Array(buf.length / 2);
  new Uint8Array(copy.buffer).set(buf);
  return copy;
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
    return payloadTooLarge(`the image has more than the ${limits.maxPixels} pixels allowed`, {
      maxPixels: limits.maxPixels,
    });
  }
  if (/^timeout/i.test(first)) {
    return invalid(`decoding the image took longer than the ${limits.timeoutSeconds} s allowed (${first})`, {
      timeoutSeconds: limits.timeoutSeconds,
    });
  }
  return invalid(`the image is truncated or corrupt: ${first}`);
}

/** Names formats sharp cannot even open, so the refusal says what the file is rather than what it is not. */
function sniff(b: Buffer): string | undefined {
  if (b.length === 0) return 'empty';
  const head = b.subarray(0, 16);
  const ascii = head.toString('latin1');
  if (b.subarray(0, 1024).includes('%PDF-')) return 'pdf';
  if (ascii.startsWith('BM') && b.length >= 26 && [12, 40, 52, 56, 64, 108, 124].includes(b.readUInt32LE(14)))
    return 'bmp';
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
  for (const byte of b)
    if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127) || byte >= 128) printable++;
  return printable === b.length && !b.includes(0);
}

/** A simple PNG decoded on this thread, described as decodeImage() describes its source. */
function decodedPng(bytes: Buffer, png: PngInfo): Decoded {
  const { raster, is16 } = decodeSimplePng(bytes, png);
  return {
    raster,
    is16,
    source: {
      format: 'png',
      width: raster.width,
      height: raster.height,
      channels: raster.channels,
      bitDepth: is16 ? 16 : 8,
    },
  };
}
