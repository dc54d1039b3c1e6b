// Kiln runtime: fully connected layer y = x W^T + b over the last dimension,
// with an activation epilogue. Each input row meets four weight rows per
// pass (four independent dot products over the ISA's Vec, two vectors of
// accumulators each), so that at batch 1 (a GEMV) the weights stream from
// memory once, at the memory's bandwidth.
#pragma once

#include "../ukernels/isa.h"
#include "common.h"

namespace kiln_rt {

/// `rows` = product of all but the last input dimension.
struct LinearParams {
  int rows, in, out;
  Epilogue ep;
};
static_assert(sizeof(LinearParams) == 4 * 6,
              "parameter structs hold 4-byte fields only");

inline namespace KILN_UK_NS {
namespace linear_detail {

/// s[j] = sum_i x[i] * w[j][i] for the R weight rows from w (row pitch
/// `in`): 2 vectors of partial sums per row, then a scalar tail.
template <class VT, int R>
inline void dots(const float *x, const float *w, int in, float *s) {
  typedef typename VT::V V;
  constexpr int L = VT::kLanes;
  V a0[R], a1[R];
  for (int j = 0; j < R; ++j)
    a0[j] = a1[j] = VT::zero();
  int i = 0;
  for (; i + 2 * L <= in; i += 2 * L) {
    const V x0 = VT::load(x + i), x1 = VT::load(x + i + L);
    for (int j = 0; j < R; ++j) {
      a0[j] = VT::fma(x0, VT::load(w + index_t(j) * in + i), a0[j]);
      a1[j] = VT::fma(x1, VT::load(w + index_t(j) * in + i + L), a1[j]);
    }
  }
  for (int j = 0; j < R; ++j)
    s[j] = VT::reduce_add(VT::add(a0[j], a1[j]));
  for (; i < in; ++i)
    for (int j = 0; j < R; ++j)
      s[j] += x[i] * w[index_t(j) * in + i];
}

} // namespace linear_detail

/// y[r][o] = act(bias[o] + sum_i x[r][i] * w[o][i] + residual[r][o]).
inline void linear(const LinearParams &p, const float *x, const float *w,
                   const float *bias, const float *residual, float *y) {
  using linear_detail::dots;
  constexpr int R = 4;
  for (int r = 0; r < p.rows; ++r) {
    const float *xr = x + index_t(r) * p.in;
    float *yr = y + index_t(r) * p.out;
    int o = 0;
    for (; o + R <= p.out; o += R)
      dots<uk::Vec, R>(xr, w + index_t(o) * p.in, p.in, yr + o);
    // The remainder counts its own iterations (fewer than R): with `o <
    // p.out` arm-none-eabi-g++ warns (-Waggressive-loop-optimizations)
    // about an impossible trip count.
    for (int t = 0, rest = p.out - o; t < rest; ++t)
      dots<uk::Vec, 1>(xr, w + index_t(o + t) * p.in, p.in, yr + o + t);
    for (o = 0; o < p.out; ++o) {
      float s = yr[o] + (bias ? bias[o] : 0.0f);
      if (residual)
        s += residual[index_t(r) * p.out + o];
      yr[o] = s;
    }
    activate_span(p.ep, yr, p.out);
  }
}

} // namespace KILN_UK_NS
} // namespace kiln_rt
