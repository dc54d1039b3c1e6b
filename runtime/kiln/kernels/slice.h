// Kiln runtime: a range of one dim with a step (the pieces of torch.chunk
// and torch.split).
#pragma once

#include "common.h"

namespace kiln_rt {

/// x seen as [outer][dim][inner]; y as [outer][count][inner] with
/// y[o][i][k] = x[o][start + i * step][k].
struct SliceRangeParams {
  int outer, dim, inner;
  int start, step, count;
};
static_assert(sizeof(SliceRangeParams) == 4 * 6,
              "parameter structs hold 4-byte fields only");

inline void slice_range(const SliceRangeParams &p, const float *x, float *y) {
  for (int o = 0; o < p.outer; ++o) {
    const float *xo = x + (index_t(o) * p.dim + p.start) * p.inner;
    float *yo = y + index_t(o) * p.count * p.inner;
    if (p.step == 1) {
      const index_t n = index_t(p.count) * p.inner;
      for (index_t j = 0; j < n; ++j)
        yo[j] = xo[j];
      continue;
    }
    for (int i = 0; i < p.count; ++i) {
      const float *xr = xo + index_t(i) * p.step * p.inner;
      float *yr = yo + index_t(i) * p.inner;
      for (int k = 0; k < p.inner; ++k)
        yr[k] = xr[k];
    }
  }
}

} // namespace kiln_rt
