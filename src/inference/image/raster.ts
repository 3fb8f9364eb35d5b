/** Interleaved pixels, 1 to 4 channels (alpha last): 8-bit as decoded, 16-bit as decoded or in float once computed on. */
export interface Raster {
  data: Uint8Array | Uint16Array | Float32Array;
  width: number;
  height: number;
  channels: number;
}
