import { DomainError, invalidImage, payloadTooLarge } from '../../common/errors';

/**
 * Image transport: how the bytes of one image arrive (base64, plain or as a data: URL). Size is checked
 * on the encoded text, before anything is decoded, so an oversized request costs no allocation.
 */

const MB = 1024 * 1024;

/** "21 MB", "512 KB", "150 bytes": units a client can act on. */
export function formatBytes(n: number): string {
  if (n >= MB) return `${trimDecimal(n / MB)} MB`;
  if (n >= 1024) return `${trimDecimal(n / 1024)} KB`;
  return `${n} byte${n === 1 ? '' : 's'}`;
}

function trimDecimal(x: number): string {
  return (Math.round(x * 10) / 10).toString();
}

export function tooManyBytes(size: number, maxBytes: number): DomainError {
  let have = formatBytes(size);
  let max = formatBytes(maxBytes);
  // 20.01 MB and 20 MB both print "20 MB": fall back to exact counts rather than a self-contradicting message.
  if (have === max) {
    have = `${size} bytes`;
    max = `${maxBytes} bytes`;
  }
  return payloadTooLarge(`the image is ${have}, more than MAX_IMAGE_BYTES (${max})`, {
    sizeBytes: size,
    maxBytes,
  });
}

const invalid = (message: string) => invalidImage(message);

/** Media types a data: URL may declare. octet-stream is "unknown", not "not an image": the bytes decide. */
function acceptedMediaType(type: string): boolean {
  return type.startsWith('image/') || type === 'application/octet-stream';
}

const WHITESPACE = /[\t\n\f\r ]/g;
const HAS_WHITESPACE = /[\t\n\f\r ]/;
// Standard or URL-safe alphabet, padding only at the end. Node's decoder would silently skip anything else.
const BASE64 = /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9\-_]+)={0,2}$/;

/**
 * base64 or data: URL → bytes. Refuses with PAYLOAD_TOO_LARGE before decoding when the decoded size would
 * exceed maxBytes, and with INVALID_IMAGE for malformed base64 or a data URL of a non-image media type.
 */
export function bytesFromBase64(input: string, maxBytes: number): Buffer {
  let payload = input;
  if (/^\s*data:/i.test(input)) {
    const start = input.search(/data:/i);
    const comma = input.indexOf(',', start);
    if (comma < 0) throw invalid('the data: URL has no "," before its data');
    const header = input
      .slice(start + 5, comma)
      .trim()
      .toLowerCase();
    const [mediaType = '', ...params] = header.split(';').map((p) => p.trim());
    if (!acceptedMediaType(mediaType)) {
      throw invalid(
        `the data: URL has media type ${mediaType ? `"${mediaType}"` : 'text/plain (none given)'}: only image/* is accepted`,
      );
    }
    if (!params.includes('base64')) throw invalid('the data: URL is not base64-encoded (";base64," is missing)');
    payload = input.slice(comma + 1);
  }

  // Upper bound first (cheap); count exactly only when whitespace could be what pushes it over.
  if (Math.floor((payload.length * 3) / 4) > maxBytes) {
    const chars = payload.replace(WHITESPACE, '');
    const size = decodedLength(chars);
    if (size > maxBytes) throw tooManyBytes(size, maxBytes);
    payload = chars;
  } else if (HAS_WHITESPACE.test(payload)) {
    payload = payload.replace(WHITESPACE, '');
  }

  if (payload.length === 0) throw invalid('the image is empty (0 bytes)');
  if (!BASE64.test(payload) || payload.length % 4 === 1) {
    const bad = payload.match(/[^A-Za-z0-9+/\-_=]/)?.[0];
    const why =
      bad !== undefined
        ? `character ${JSON.stringify(bad)} at position ${payload.indexOf(bad)}`
        : 'bad length or padding';
    throw invalid(`the image is not valid base64: ${why}`);
  }
  return Buffer.from(payload, 'base64');
}

function decodedLength(chars: string): number {
  let pad = 0;
  if (chars.endsWith('==')) pad = 2;
  else if (chars.endsWith('=')) pad = 1;
  return Math.floor(((chars.length - pad) * 3) / 4);
}
