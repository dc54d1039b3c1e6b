// Kiln runtime: padding of the last one to three dims with a constant, or
// by reflection, replication or wrap-around (PyTorch's F.pad modes).
#pragma once

#include "common.h"

namespace kiln_rt {

enum : int {
  PAD_CONSTANT = 0,
  PAD_REFLECT = 1,
  PAD_REPLICATE = 2,
  PAD_CIRCULAR = 3
};

/// `outer` = product of the dims before the padded ones; spatial arrays as
/// in ConvParams (unused leading slots: size 1, padding 0).
struct PadParams {
  int mode;
  float value;
  int outer;
  int in[3], out[3], before[3];
};
static_assert(sizeof(PadParams) == 4 * 12,
              "parameter structs hold 4-byte fields only");

/// Source index of padded position `i` in a dim of size `n`, or -1 for the
/// constant value.
inline int pad_source(int mode, int i, int n) {
  if (i >= 0 && i < n)
    return i;
  switch (mode) {
  case PAD_REFLECT:
    return i < 0 ? -i : 2 * (n - 1) - i;
  case PAD_REPLICATE:
    return i < 0 ? 0 : n - 1;
  case PAD_CIRCULAR:
    return ((i % n) + n) % n;
  default:
    return -1;
  }
}

/// y = x padded.
inline void pad(const PadParams &p, const float *x, float *y) {
  const index_t in_plane = index_t(p.in[0]) * p.in[1] * p.in[2];
  const index_t out_plane = index_t(p.out[0]) * p.out[1] * p.out[2];
  for (int o = 0; o < p.outer; ++o) {
    const float *xp = x + o * in_plane;
    float *yp = y + o * out_plane;
    for (int d = 0; d < p.out[0]; ++d) {
      const int sd = pad_source(p.mode, d - p.before[0], p.in[0]);
      for (int h = 0; h < p.out[1]; ++h) {
        const int sh = pad_source(p.mode, h - p.before[1], p.in[1]);
        float *yr = yp + (index_t(d) * p.out[1] + h) * p.out[2];
        for (int w = 0; w < p.out[2]; ++w) {
          const int sw = pad_source(p.mode, w - p.before[2], p.in[2]);
          yr[w] = (sd < 0 || sh < 0 || sw < 0)
                      ? p.value
                      : xp[(index_t(sd) * p.in[1] + sh) * p.in[2] + sw];
        }
      }
    }
  }
}

} // namespace kiln_rt
