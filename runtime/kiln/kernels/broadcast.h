// Kiln runtime: ops over tensors of up to six dims with per-operand strides
// (broadcasting): elementwise add / sub / mul / div, reductions (sum, mean),
// and copying a slice into a concatenation.
#pragma once

#include "common.h"

namespace kiln_rt {

/// Maximum rank of broadcasting and reduction kernels.
constexpr int kMaxRank = 6;

enum : int { BIN_ADD = 0, BIN_SUB = 1, BIN_MUL = 2, BIN_DIV = 3 };

/// Output dims and each operand's element strides (0 where broadcast), all
/// right-aligned into six slots (unused leading slots: size 1).
struct BinaryParams {
  int op;
  float alpha; ///< add: a + alpha * b; sub: a - alpha * b
  int out[6], sa[6], sb[6];
};
static_assert(sizeof(BinaryParams) == 4 * 20,
              "parameter structs hold 4-byte fields only");

inline float binary_apply(const BinaryParams &p, float a, float b) {
  switch (p.op) {
  case BIN_ADD:
    return p.alpha == 1.0f ? a + b : a + p.alpha * b;
  case BIN_SUB:
    return p.alpha == 1.0f ? a - b : a - p.alpha * b;
  case BIN_MUL:
    return a * b;
  default:
    return a / b;
  }
}

/// One output row of `n` elements: a and b each stepped by 1 or 0 (a
/// broadcast scalar), any other step by `sa` / `sb`; the operation is a
/// template argument so that each loop is a plain one the compiler
/// vectorises.
template <int OP>
inline void binary_row(float alpha, const float *a, const float *b, float *y,
                       int n, int sa, int sb) {
  const BinaryParams q = {OP, alpha, {}, {}, {}};
  if (sa == 1 && sb == 1) {
    for (int i = 0; i < n; ++i)
      y[i] = binary_apply(q, a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bs = b[0];
    for (int i = 0; i < n; ++i)
      y[i] = binary_apply(q, a[i], bs);
  } else if (sa == 0 && sb == 1) {
    const float as = a[0];
    for (int i = 0; i < n; ++i)
      y[i] = binary_apply(q, as, b[i]);
  } else {
    for (int i = 0; i < n; ++i)
      y[i] = binary_apply(q, a[index_t(i) * sa], b[index_t(i) * sb]);
  }
}

/// binary() for one operation.
template <int OP>
inline void binary_as(const BinaryParams &p, const float *a, const float *b,
                      float *y) {
  index_t i = 0;
  for (int d0 = 0; d0 < p.out[0]; ++d0)
    for (int d1 = 0; d1 < p.out[1]; ++d1)
      for (int d2 = 0; d2 < p.out[2]; ++d2)
        for (int d3 = 0; d3 < p.out[3]; ++d3)
          for (int d4 = 0; d4 < p.out[4]; ++d4) {
            const index_t oa = index_t(d0) * p.sa[0] + index_t(d1) * p.sa[1] +
                               index_t(d2) * p.sa[2] + index_t(d3) * p.sa[3] +
                               index_t(d4) * p.sa[4];
            const index_t ob = index_t(d0) * p.sb[0] + index_t(d1) * p.sb[1] +
                               index_t(d2) * p.sb[2] + index_t(d3) * p.sb[3] +
                               index_t(d4) * p.sb[4];
            binary_row<OP>(p.alpha, a + oa, b + ob, y + i, p.out[5], p.sa[5],
                           p.sb[5]);
            i += p.out[5];
          }
}

/// y = a OP b with broadcasting (the compiler lays the dims out so that
/// the last is the longest run both operands step through by 1 or 0).
inline void binary(const BinaryParams &p, const float *a, const float *b,
                   float *y) {
  switch (p.op) {
  case BIN_ADD:
    return binary_as<BIN_ADD>(p, a, b, y);
  case BIN_SUB:
    return binary_as<BIN_SUB>(p, a, b, y);
  case BIN_MUL:
    return binary_as<BIN_MUL>(p, a, b, y);
  default:
    return binary_as<BIN_DIV>(p, a, b, y);
  }
}

/// Sum or mean over the dims flagged in `reduced` (input dims in six slots).
struct ReduceParams {
  int mean;
  int in[6], reduced[6];
  int count; ///< elements per output (product of the reduced dims)
};
static_assert(sizeof(ReduceParams) == 4 * 14,
              "parameter structs hold 4-byte fields only");

inline void reduce(const ReduceParams &p, const float *x, float *y) {
  // Output strides: reduced dims contribute nothing.
  index_t stride[6], total = 1;
  for (int d = 5; d >= 0; --d) {
    stride[d] = p.reduced[d] ? 0 : total;
    if (!p.reduced[d])
      total *= p.in[d];
  }
  for (index_t i = 0; i < total; ++i)
    y[i] = 0.0f;
  index_t i = 0;
  for (int d0 = 0; d0 < p.in[0]; ++d0)
    for (int d1 = 0; d1 < p.in[1]; ++d1)
      for (int d2 = 0; d2 < p.in[2]; ++d2)
        for (int d3 = 0; d3 < p.in[3]; ++d3)
          for (int d4 = 0; d4 < p.in[4]; ++d4) {
            float *yr = y + d0 * stride[0] + d1 * stride[1] + d2 * stride[2] +
                        d3 * stride[3] + d4 * stride[4];
            for (int d5 = 0; d5 < p.in[5]; ++d5)
              yr[d5 * stride[5]] += x[i++];
          }
  if (p.mean)
    for (index_t j = 0; j < total; ++j)
      y[j] /= float(p.count);
}

/// Copies x, seen as [outer][inner], into y seen as [outer][out_inner] at
/// column `offset` (one operand of a concatenation).
struct SliceParams {
  int outer, inner, out_inner, offset;
};
static_assert(sizeof(SliceParams) == 4 * 4,
              "parameter structs hold 4-byte fields only");

inline void copy_slice(const SliceParams &p, const float *x, float *y) {
  for (int o = 0; o < p.outer; ++o)
    for (int i = 0; i < p.inner; ++i)
      y[index_t(o) * p.out_inner + p.offset + i] = x[index_t(o) * p.inner + i];
}

} // namespace kiln_rt
