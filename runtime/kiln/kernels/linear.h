// Kiln runtime: fully connected layer y = x W^T + b over the last dimension,
// with an activation epilogue.
#pragma once

#include "common.h"

namespace kiln_rt {

/// `rows` = product of all but the last input dimension.
struct LinearParams {
  int rows, in, out;
  Epilogue ep;
};
static_assert(sizeof(LinearParams) == 4 * 6,
              "parameter structs hold 4-byte fields only");

/// y[r][o] = act(bias[o] + sum_i x[r][i] * w[o][i] + residual[r][o]).
inline void linear(const LinearParams &p, const float *x, const float *w,
                   const float *bias, const float *residual, float *y) {
  for (int r = 0; r < p.rows; ++r) {
    const float *xr = x + index_t(r) * p.in;
    for (int o = 0; o < p.out; ++o) {
      const float *wr = w + index_t(o) * p.in;
      // Eight independent partial sums (two vectors of four) let the dot
      // product use SIMD without reassociating a single float accumulator.
      // The remainder loop counts its own iterations (fewer than 8): with
      // `i < p.in` after the vector loop, arm-none-eabi-g++ -O2 warns
      // (-Waggressive-loop-optimizations) about an impossible trip count.
      f32x4 a0 = splat4(0.0f), a1 = splat4(0.0f);
      const int body = p.in - p.in % 8;
      for (int i = 0; i < body; i += 8) {
        a0 += load4(xr + i) * load4(wr + i);
        a1 += load4(xr + i + 4) * load4(wr + i + 4);
      }
      float s = ((a0[0] + a0[1]) + (a0[2] + a0[3])) +
                ((a1[0] + a1[1]) + (a1[2] + a1[3]));
      for (int t = 0; t < p.in % 8; ++t)
        s += xr[body + t] * wr[body + t];
      s += bias ? bias[o] : 0.0f;
      if (residual)
        s += residual[index_t(r) * p.out + o];
      y[index_t(r) * p.out + o] = activate(p.ep, s);
    }
  }
}

} // namespace kiln_rt
