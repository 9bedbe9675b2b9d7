/** Image helpers of the imaging example: plain functions a stage calls (and a fingerprint covers). */

/** A 3-voxel moving average: the "denoising" of this toy pipeline. */
export function smooth(voxels: readonly number[]): number[] {
  return voxels.map((_, i) => {
    const window = voxels.slice(Math.max(0, i - 1), i + 2);
    return window.reduce((a, b) => a + b, 0) / window.length;
  });
}

/** Voxels above this intensity are "brain". */
export const THRESHOLD = 0.5;

export function brainMask(voxels: readonly number[]): boolean[] {
  return voxels.map((v) => v > THRESHOLD);
}
