import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../../src/config/config';
import { thumbnail } from '../../src/inference/image/thumbnail';
import { startServer, type RunningServer } from '../../src/http/server';
import { createTestApp, dbKind, fixture, type TestApp } from '../helpers/test-app';

/** A 28×28 8-bit gray PNG, as Fashion-MNIST's, with a few distinct gray levels in blocks. */
async function fashionLikePng(): Promise<{ png: Buffer; levels: Set<number> }> {
  const pixels = Buffer.alloc(28 * 28);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) pixels[y * 28 + x] = ((x >> 2) + (y >> 2)) % 2 ? 220 : 30;
  const png = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
  return { png, levels: new Set([30, 220]) };
}

describe(`dataset item images over HTTP (${dbKind()})`, () => {
  let t: TestApp;
  let server: RunningServer;
  let url: string;
  let png: Buffer;
  let levels: Set<number>;
  let textSha: string;
  const jpeg = readFileSync(fixture('images/rgb-37x23.jpg'));
  const text = readFileSync(fixture('images/not-an-image.txt'));

  beforeAll(async () => {
    // Operator keys get 2 requests a second (bursts of 4), to see the rate limit apply; viewers are unlimited.
    const defaults = loadConfig({});
    t = await createTestApp({
      config: { limits: { ...defaults.limits, rate: { viewer: 0, operator: 2, admin: 0 } } },
    });
    ({ png, levels } = await fashionLikePng());
    const file = path.join(t.dataDir, 'fashion-28.png');
    writeFileSync(file, png);
    const store = async (f: string) => (await t.app.artifacts.commit(await t.app.artifacts.stage(f))).sha256;
    const [p, j, x] = [
      await store(file),
      await store(fixture('images/rgb-37x23.jpg')),
      await store(fixture('images/not-an-image.txt')),
    ];
    textSha = x;
    const admin = t.app.localActor();
    const dataset = (items: { path: string; labelIndex: number; sha256: string }[]) =>
      t.app.services.datasets.create(admin, {
        name: 'gallery',
        labels: ['a', 'b'],
        storageUri: 'artifacts/sha256',
        items,
      });
    // Version 1: the PNG at ordinal 0; version 2 (the latest) puts the JPEG first.
    await dataset([
      { path: 'a/shirt.png', labelIndex: 0, sha256: p },
      { path: 'b/photo.jpg', labelIndex: 1, sha256: j },
      { path: 'b/notes.txt', labelIndex: 1, sha256: x },
    ]);
    await dataset([
      { path: 'a/photo.jpg', labelIndex: 0, sha256: j },
      { path: 'b/shirt.png', labelIndex: 1, sha256: p },
      { path: 'b/notes (1).txt', labelIndex: 1, sha256: x },
    ]);
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  const image = (rest: string, headers: Record<string, string> = { authorization: `Bearer ${t.keys.viewer}` }) =>
    fetch(`${url}/datasets/gallery/items/${rest}`, { headers });
  const bytes = async (res: Response) => Buffer.from(await res.arrayBuffer());
  const errorCode = async (res: Response) => ((await res.json()) as any).errors[0].extensions.code as string;

  it('serves the stored bytes of the latest version, with their content type, revalidated by ETag', async () => {
    const res = await image('0/image');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('cache-control')).toBe('private, no-cache');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await bytes(res);
    expect(body.equals(jpeg)).toBe(true);
    const [item] = await t.app.services.datasets.itemsOf((await t.app.services.datasets.latest('gallery'))!.id, 0, 1);
    expect(body.equals(readFileSync(t.app.artifacts.absolute(t.app.artifacts.relativeFor(item!.sha256))))).toBe(true);
    expect(res.headers.get('etag')).toBe(`"${item!.sha256}"`);

    const second = await image('1/image');
    expect(second.headers.get('content-type')).toBe('image/png');
    expect((await bytes(second)).equals(png)).toBe(true);
  });

  it('answers If-None-Match with 304, and a thumbnail has its own ETag', async () => {
    const first = await image('1/image?size=96');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{64}-96"$/);
    await first.arrayBuffer();
    const again = await image('1/image?size=96', { authorization: `Bearer ${t.keys.viewer}`, 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect((await bytes(again)).length).toBe(0);
    const weak = await image('1/image?size=96', {
      authorization: `Bearer ${t.keys.viewer}`,
      'if-none-match': `"other", W/${etag}`,
    });
    expect(weak.status).toBe(304);
    // The full image is another representation.
    const full = await image('1/image', { authorization: `Bearer ${t.keys.viewer}`, 'if-none-match': etag });
    expect(full.status).toBe(200);
    await full.arrayBuffer();
  });

  it('names an older version explicitly, cached as immutable', async () => {
    const res = await image('0/image?version=1');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private, max-age=3600, immutable');
    expect(res.headers.get('content-type')).toBe('image/png');
    expect((await bytes(res)).equals(png)).toBe(true);
  });

  it('makes a crisp PNG thumbnail: a 28 px image enlarged to 96 px by nearest neighbour', async () => {
    const res = await image('0/image?version=1&size=96');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const thumb = await bytes(res);
    const meta = await sharp(thumb).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 96, 96]);
    // Nearest neighbour invents no gray levels between the source's.
    const { data, info } = await sharp(thumb).raw().toBuffer({ resolveWithObject: true });
    const seen = new Set<number>();
    for (let i = 0; i < data.length; i += info.channels) seen.add(data[i]!);
    expect([...seen].sort()).toEqual([...levels].sort());

    // Shrinking keeps the aspect ratio: 37×23 at 16 px on its longest side.
    const small = await bytes(await image('0/image?size=16'));
    const m = await sharp(small).metadata();
    expect([m.format, m.width, m.height]).toEqual(['png', 16, 10]);
  });

  it('serves a stored file that is no image as a download, and refuses to thumbnail it', async () => {
    const res = await image('2/image');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="notes__1_.txt"');
    expect((await bytes(res)).equals(text)).toBe(true);
    const thumb = await image('2/image?size=64');
    expect(thumb.status).toBe(400);
    // An error is not the item's representation: no ETag or caching of ours.
    expect(thumb.headers.get('etag') ?? '').not.toMatch(/[0-9a-f]{64}/);
    expect(thumb.headers.get('cache-control')).toBeNull();
    expect(await errorCode(thumb)).toBe('INVALID_IMAGE');
  });

  it('refuses anonymous callers with 401 in the GraphQL error shape', async () => {
    const res = await image('0/image', {});
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(body.errors[0].extensions.requestId).toBe(res.headers.get('x-request-id'));
    expect(body.errors[0].message).toMatch(/viewer/);
    const badKey = await image('0/image', { authorization: 'Bearer mg_nope' });
    expect(badKey.status).toBe(401);
  });

  it("works with a browser's session cookie", async () => {
    const signIn = await fetch(`${url}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url },
      body: JSON.stringify({ key: t.keys.viewer }),
    });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!;
    const res = await image('1/image?size=32', { cookie });
    expect(res.status).toBe(200);
    const meta = await sharp(await bytes(res)).metadata();
    expect([meta.width, meta.height]).toEqual([32, 32]);
  });

  it('answers 404 for an unknown dataset, version or item, and 400 for a bad ordinal, version or size', async () => {
    const auth = { authorization: `Bearer ${t.keys.viewer}` };
    for (const [path, status, code] of [
      ['3/image', 404, 'NOT_FOUND'],
      ['0/image?version=3', 404, 'NOT_FOUND'],
      ['999999999/image', 404, 'NOT_FOUND'],
      ['-1/image', 400, 'BAD_USER_INPUT'],
      ['1.5/image', 400, 'BAD_USER_INPUT'],
      ['abc/image', 400, 'BAD_USER_INPUT'],
      ['99999999999/image', 400, 'BAD_USER_INPUT'],
      ['0/image?version=0', 400, 'BAD_USER_INPUT'],
      ['0/image?version=x', 400, 'BAD_USER_INPUT'],
      ['0/image?size=15', 400, 'BAD_USER_INPUT'],
      ['0/image?size=513', 400, 'BAD_USER_INPUT'],
      ['0/image?size=big', 400, 'BAD_USER_INPUT'],
      ['0/image?size=32&size=64', 400, 'BAD_USER_INPUT'],
    ] as const) {
      const res = await image(path, auth);
      expect([path, res.status, await errorCode(res)]).toEqual([path, status, code]);
    }
    const unknown = await fetch(`${url}/datasets/nope/items/0/image`, { headers: auth });
    expect([unknown.status, await errorCode(unknown)]).toEqual([404, 'NOT_FOUND']);
  });

  it("counts against the key's rate limit", async () => {
    const auth = { authorization: `Bearer ${t.keys.operator}` };
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await image('1/image?size=16', auth);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(await errorCode(res)).toBe('RATE_LIMITED');
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      } else await res.arrayBuffer();
    }
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses).toContain(429);
  });

  it('bounds thumbnailing by the image limits (MAX_IMAGE_PIXELS, MAX_IMAGE_BYTES)', async () => {
    const limits = { ...t.app.config.inference.image };
    await expect(thumbnail(png, 96, { ...limits, maxPixels: 28 * 27 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await expect(thumbnail(png, 96, { ...limits, maxBytes: png.length - 1 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect((await sharp(await thumbnail(png, 96, { ...limits, maxPixels: 28 * 28 })).metadata()).width).toBe(96);
  });

  it("answers 404 NOT_FOUND when an item's bytes are gone from the data directory (and there is no shared store)", async () => {
    rmSync(t.app.artifacts.absolute(t.app.artifacts.relativeFor(textSha)));
    const res = await image('2/image');
    expect([res.status, await errorCode(res)]).toEqual([404, 'NOT_FOUND']);
  });
});
