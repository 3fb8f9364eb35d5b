import sharp from 'sharp';
import { badInput, payloadTooLarge } from '../../common/errors';
import { imageError, type ImageLimits } from './decode';

/** Thumbnails are 16 to 512 px on their longest side. */
export const THUMBNAIL_MIN = 16;
export const THUMBNAIL_MAX = 512;

/** The stored formats served as themselves, by their magic bytes; anything else is a download. */
export function sniffImageType(head: Buffer): 'image/png' | 'image/jpeg' | 'image/webp' | null {
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP')
    return 'image/webp';
  return null;
}

/**
 * A PNG whose longest side is `size` px, aspect ratio kept, EXIF orientation applied, first frame only.
 * Enlarging uses nearest-neighbour (a 28×28 Fashion-MNIST image at 96 px stays crisp), shrinking
 * Lanczos. Decoding and resizing run in sharp, on libuv's thread pool, never on the event loop; the
 * image limits (MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, IMAGE_DECODE_TIMEOUT_S) bound its memory and time.
 */
export async function thumbnail(bytes: Buffer, size: number, limits: ImageLimits): Promise<Buffer> {
  if (!Number.isInteger(size) || size < THUMBNAIL_MIN || size > THUMBNAIL_MAX)
    throw badInput(`size must be an integer from ${THUMBNAIL_MIN} to ${THUMBNAIL_MAX}`, {
      min: THUMBNAIL_MIN,
      max: THUMBNAIL_MAX,
    });
  if (bytes.length > limits.maxBytes)
    throw payloadTooLarge(`the image has more than the ${limits.maxBytes} bytes allowed`, {
      maxBytes: limits.maxBytes,
    });
  const options: sharp.SharpOptions = {
    failOn: 'error',
    page: 0,
    pages: 1,
    animated: false,
    limitInputPixels: Math.max(1, Math.floor(limits.maxPixels)),
  };
  try {
    // The header only (no pixels decoded): is this an enlargement?
    const meta = await sharp(bytes, options).metadata();
    const longest = Math.max(meta.width, meta.pageHeight ?? meta.height);
    let pipeline = sharp(bytes, options)
      .autoOrient()
      .resize(size, size, { fit: 'inside', kernel: longest < size ? 'nearest' : 'lanczos3' })
      .png();
    if (limits.timeoutSeconds > 0)
      pipeline = pipeline.timeout({ seconds: Math.min(3600, Math.ceil(limits.timeoutSeconds)) });
    return await pipeline.toBuffer();
  } catch (e) {
    throw imageError(e, bytes, limits);
  }
}
