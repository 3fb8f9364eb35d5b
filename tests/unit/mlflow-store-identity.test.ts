import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileStoreSource } from '../../src/importers/mlflow/file-store';
import { fileStoreIdentity, serverIdentity } from '../../src/importers/mlflow/store-identity';

describe('MLflow tracking store identity', () => {
  it.each([
    ['http://mlflow.example.com:5000', 'http://mlflow.example.com:5000'],
    ['http://mlflow.example.com:5000/', 'http://mlflow.example.com:5000'],
    ['HTTP://MLflow.Example.COM:5000//', 'http://mlflow.example.com:5000'],
    ['http://mlflow.example.com:80/', 'http://mlflow.example.com'],
    ['https://mlflow.example.com:443', 'https://mlflow.example.com'],
    ['https://mlflow.example.com:8443/', 'https://mlflow.example.com:8443'],
    ['https://gateway.example.com/mlflow/', 'https://gateway.example.com/mlflow'],
    ['https://gateway.example.com/mlflow?x=1#top', 'https://gateway.example.com/mlflow'],
    ['http://[::1]:5000/', 'http://[::1]:5000'],
  ])('normalises the server URL %s to %s', (given, identity) => {
    expect(serverIdentity(given)).toBe(identity);
  });

  it('refuses what is not an http(s) URL', () => {
    expect(() => serverIdentity('not a url')).toThrow('not a valid URL');
    expect(() => serverIdentity('ftp://host/mlruns')).toThrow('is not an http(s) tracking server URL');
  });

  it('gives a FileStore one identity through file://…/, a plain path with or without a slash, and a symlink', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-identity-'));
    try {
      const store = path.join(dir, 'mlruns');
      mkdirSync(store);
      const link = path.join(dir, 'link');
      symlinkSync(store, link);
      const expected = pathToFileURL(realpathSync(store)).href;
      expect(expected).not.toMatch(/\/$/);
      for (const spelling of [
        store,
        `${store}/`,
        `${pathToFileURL(store).href}/`,
        pathToFileURL(store).href,
        link,
        `${link}/`,
        `${pathToFileURL(link).href}/`,
        path.join(dir, 'link', '..', 'mlruns'),
      ]) {
        expect([spelling, await new FileStoreSource(spelling).identity()]).toEqual([spelling, expected]);
      }
      expect(await fileStoreIdentity(`${store}/`)).toBe(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
