// Nova's weight normalisation: map values linearly onto 0..1 (lowest → 0, highest → 1); when
// all values are equal the weigher cannot tell hosts apart and every host gets 0.

/** Normalise `values[indices[0..count)]` into `out` at the same positions. */
export function normalizeInto(values: Float64Array, indices: Int32Array, count: number, out: Float64Array): void {
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0; k < count; k++) {
    const v = values[indices[k]!]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  for (let k = 0; k < count; k++) {
    const i = indices[k]!;
    out[i] = range > 0 ? (values[i]! - min) / range : 0;
  }
}
