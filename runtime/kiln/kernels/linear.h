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
      // Eight independent partial sums let the compiler vectorise the dot
      // product without reassociating a single float accumulator.
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int i = 0;
      for (; i + 8 <= p.in; i += 8)
        for (int j = 0; j < 8; ++j)
          acc[j] += xr[i + j] * wr[i + j];
      float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      for (; i < p.in; ++i)
        s += xr[i] * wr[i];
      s += bias ? bias[o] : 0.0f;
      if (residual)
        s += residual[index_t(r) * p.out + o];
      y[index_t(r) * p.out + o] = activate(p.ep, s);
    }
  }
}

} // namespace kiln_rt
