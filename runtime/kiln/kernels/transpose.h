// Kiln runtime: permutation of a tensor's dims (torch.permute / transpose)
// as a strided copy over six loops, with a tiled path for the case where the
// input's contiguous dim is not the output's.
#pragma once

#include "common.h"

namespace kiln_rt {

/// Loop extents and, per loop, the element stride in the input (`sx`) and
/// the output (`sy`), right-aligned into six slots (unused leading slots:
/// size 1, strides 0). The lowering drops size-1 dims and merges dims that
/// stay adjacent; slot 5 is the output's last dim (sy[5] == 1) and, when
/// the input's contiguous dim is another one, that dim is slot 4 (sx[4] ==
/// 1).
struct TransposeParams {
  int out[6];
  int sx[6];
  int sy[6];
};
static_assert(sizeof(TransposeParams) == 4 * 18,
              "parameter structs hold 4-byte fields only");

/// Side of the square tiles of the two innermost loops when they swap
/// the contiguous dims: 32 x 32 floats read from 32 rows stay in L1.
constexpr int kTransposeTile = 32;

/// y[sum_d i_d * sy[d]] = x[sum_d i_d * sx[d]] over all loop indices.
inline void transpose(const TransposeParams &p, const float *x, float *y) {
  const int n4 = p.out[4], n5 = p.out[5];
  for (int d0 = 0; d0 < p.out[0]; ++d0)
    for (int d1 = 0; d1 < p.out[1]; ++d1)
      for (int d2 = 0; d2 < p.out[2]; ++d2)
        for (int d3 = 0; d3 < p.out[3]; ++d3) {
          const float *xb = x + index_t(d0) * p.sx[0] + index_t(d1) * p.sx[1] +
                            index_t(d2) * p.sx[2] + index_t(d3) * p.sx[3];
          float *yb = y + index_t(d0) * p.sy[0] + index_t(d1) * p.sy[1] +
                      index_t(d2) * p.sy[2] + index_t(d3) * p.sy[3];
          if (p.sx[5] == 1) { // rows copied as they are
            for (int d4 = 0; d4 < n4; ++d4) {
              const float *xr = xb + index_t(d4) * p.sx[4];
              float *yr = yb + index_t(d4) * p.sy[4];
              for (int d5 = 0; d5 < n5; ++d5)
                yr[d5] = xr[d5];
            }
          } else if (p.sx[4] == 1) { // a 2-D transpose, tile by tile
            for (int i0 = 0; i0 < n4; i0 += kTransposeTile) {
              const int i1 =
                  i0 + kTransposeTile < n4 ? i0 + kTransposeTile : n4;
              for (int j0 = 0; j0 < n5; j0 += kTransposeTile) {
                const int j1 =
                    j0 + kTransposeTile < n5 ? j0 + kTransposeTile : n5;
                for (int i = i0; i < i1; ++i) {
                  const float *xr = xb + i;
                  float *yr = yb + index_t(i) * p.sy[4];
                  for (int j = j0; j < j1; ++j)
                    yr[j] = xr[index_t(j) * p.sx[5]];
                }
              }
            }
          } else {
            for (int d4 = 0; d4 < n4; ++d4) {
              const float *xr = xb + index_t(d4) * p.sx[4];
              float *yr = yb + index_t(d4) * p.sy[4];
              for (int d5 = 0; d5 < n5; ++d5)
                yr[d5] = xr[index_t(d5) * p.sx[5]];
            }
          }
        }
}

} // namespace kiln_rt
