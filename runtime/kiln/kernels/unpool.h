// Kiln runtime: max unpooling — scatters each input value to the flat offset
// its max-pool index names within the output plane; other outputs are 0.
#pragma once

#include "common.h"

#include <stdint.h>

namespace kiln_rt {

/// `planes` = batch * channels; sizes are elements per plane.
struct UnpoolParams {
  int planes, in_plane, out_plane;
};
static_assert(sizeof(UnpoolParams) == 4 * 3,
              "parameter structs hold 4-byte fields only");

/// y = 0, then y[plane][indices[i]] = x[i]; an index outside the plane is
/// skipped (PyTorch raises an error there).
inline void max_unpool(const UnpoolParams &p, const float *x,
                       const int32_t *indices, float *y) {
  for (index_t i = 0; i < index_t(p.planes) * p.out_plane; ++i)
    y[i] = 0.0f;
  for (int c = 0; c < p.planes; ++c)
    for (int i = 0; i < p.in_plane; ++i) {
      const int32_t at = indices[index_t(c) * p.in_plane + i];
      if (at >= 0 && at < p.out_plane)
        y[index_t(c) * p.out_plane + at] = x[index_t(c) * p.in_plane + i];
    }
}

} // namespace kiln_rt

namespace kiln_rt {

/// `count` indices.
struct IndexCastParams {
  int count;
};
static_assert(sizeof(IndexCastParams) == 4,
              "parameter structs hold 4-byte fields only");

/// y[i] = float(indices[i]): max-pooling indices returned as a model output
/// (exact: planes have fewer than 2^24 elements).
inline void indices_to_float(const IndexCastParams &p, const int32_t *indices,
                             float *y) {
  for (int i = 0; i < p.count; ++i)
    y[i] = float(indices[i]);
}

} // namespace kiln_rt
