import * as ort from 'onnxruntime-node';
import { ConfigError, loadConfig } from '../../src/config/config';
import { executionProviderConfig } from '../../src/inference/onnx-backend';
import { fixture } from '../helpers/test-app';

describe('execution provider options passed to onnxruntime-node', () => {
  it('gives cuda and tensorrt the CUDA_DEVICE_ID, and cpu and webgpu their bare names', () => {
    const gpu = { cudaDeviceId: loadConfig({ CUDA_DEVICE_ID: '1' }).inference.cudaDeviceId };
    expect(executionProviderConfig('cuda', gpu)).toEqual({ name: 'cuda', deviceId: 1 });
    expect(executionProviderConfig('tensorrt', gpu)).toEqual({ name: 'tensorrt', deviceId: 1 });
    expect(executionProviderConfig('cpu', gpu)).toBe('cpu');
    // The binding refuses any webgpu option it does not know, deviceId included.
    expect(executionProviderConfig('webgpu', gpu)).toBe('webgpu');
  });

  it('defaults CUDA_DEVICE_ID to 0 and refuses a negative or fractional one', () => {
    expect(loadConfig({}).inference.cudaDeviceId).toBe(0);
    expect(() => loadConfig({ CUDA_DEVICE_ID: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ CUDA_DEVICE_ID: '0.5' })).toThrow(ConfigError);
  });

  it('builds entries the real binding accepts: the cpu one creates a session, the cuda one gets as far as loading the CUDA library (absent here)', async () => {
    const gpu = { cudaDeviceId: 0 };
    const session = await ort.InferenceSession.create(fixture('gray8x8-3class.onnx'), {
      executionProviders: [executionProviderConfig('cpu', gpu)],
    });
    await session.release();
    const bundled = ort.listSupportedBackends().find((b) => b.name === 'cuda')?.bundled;
    // The binding is built with CUDA: it reads deviceId, then needs the provider library only the cuda12 install brings.
    if (!bundled)
      await expect(
        ort.InferenceSession.create(fixture('gray8x8-3class.onnx'), {
          executionProviders: [executionProviderConfig('cuda', gpu)],
        }),
      ).rejects.toThrow(/Cuda: Failed to load shared library/);
  });
});
