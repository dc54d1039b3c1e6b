// Kiln runtime: permutation of a tensor's dims (torch.permute / transpose)
// as a strided copy: the output is written in order, the input read through
// per-dim strides.
#pragma once

#include "common.h"

namespace kiln_rt {

/// Output dims and, for each, the input element stride that one step along
/// it moves, right-aligned into six slots (unused leading slots: size 1,
/// stride 0). The lowering drops size-1 dims and merges dims that stay
/// adjacent, so the innermost slot is as long as possible.
struct TransposeParams {
  int out[6];
  int stride[6];
};
static_assert(sizeof(TransposeParams) == 4 * 12,
              "parameter structs hold 4-byte fields only");

/// y[i0..i5] = x[sum_d i_d * stride[d]].
inline void transpose(const TransposeParams &p, const float *x, float *y) {
  index_t i = 0;
  for (int d0 = 0; d0 < p.out[0]; ++d0)
    for (int d1 = 0; d1 < p.out[1]; ++d1)
      for (int d2 = 0; d2 < p.out[2]; ++d2)
        for (int d3 = 0; d3 < p.out[3]; ++d3)
          for (int d4 = 0; d4 < p.out[4]; ++d4) {
            const float *xr =
                x + index_t(d0) * p.stride[0] + index_t(d1) * p.stride[1] +
                index_t(d2) * p.stride[2] + index_t(d3) * p.stride[3] +
                index_t(d4) * p.stride[4];
            if (p.stride[5] == 1) {
              for (int d5 = 0; d5 < p.out[5]; ++d5)
                y[i + d5] = xr[d5];
            } else {
              for (int d5 = 0; d5 < p.out[5]; ++d5)
                y[i + d5] = xr[index_t(d5) * p.stride[5]];
            }
            i += p.out[5];
          }
}

} // namespace kiln_rt
