import { existsSync, readdirSync } from 'node:fs';

/** Where the Vulkan loader looks for driver manifests (ICDs) on Linux. */
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const LOADER = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
];

/**
 * Whether this machine has a Vulkan loader and at least one driver manifest, which the WebGPU
 * execution provider (Dawn) needs; MODELGATE_TEST_WEBGPU=required (CI) makes a missing one fail.
 * A driver Dawn refuses (bookworm's own Mesa 22.3 lavapipe) is not "missing": the tests then fail.
 */
export function vulkanAvailable(): boolean {
  const loader = LOADER.some((f) => existsSync(f));
  const icds = ICD_DIRS.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')) : []));
  if (loader && icds.length) return true;
  const reason = `no Vulkan ${loader ? 'driver' : 'loader'}: apt-get install -y libvulkan1 and bookworm-backports' mesa-vulkan-drivers (STACK-NOTES.md, "GPU code path without a GPU"), or a GPU driver's Vulkan ICD`;
  if (process.env.MODELGATE_TEST_WEBGPU === 'required') throw new Error(`the WebGPU tests need Vulkan: ${reason}`);
  console.warn(`skipping the WebGPU tests: ${reason}`);
  return false;
}
