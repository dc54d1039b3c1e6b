// The checks of the runtime kernels that run once per micro-kernel ISA: the
// same source compiled with each ISA's flags (isa_checks.cpp) and driven by
// GoogleTest on the host (isa_test.cpp) or by a plain main under qemu
// (isa_check_main.cpp). Free of GoogleTest so that it cross-compiles.
#pragma once

#include <stdint.h>
#include <string>

namespace kiln_test {

/// A small deterministic generator (the same sequence on every target).
struct Rng {
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(s >> 33);
  }
  int range(int lo, int hi) { return lo + int(next() % uint32_t(hi - lo + 1)); }
  float uniform() { return float(next() % 2000001u) / 1000000.0f - 1.0f; }
};

/// Counts of checked cases and the first failures, as text.
struct CheckReport {
  int passed = 0, failed = 0;
  std::string failures;
  void fail(const std::string &what);
};

/// The micro-kernel ISA the checks were compiled for (kiln_rt::uk::kIsa).
const char *kernelIsa();

/// conv_gemm for every packed block height, against the reference
/// convolution: a seeded sweep of 1-3-d geometries, groups, strides,
/// padding, dilation, k chunks, tails of tiles, bias, residual, every
/// activation, and NaN through ReLU.
void checkConvGemm(CheckReport &r);

/// conv_transpose_gemm and conv_transpose_phases the same way (output
/// padding, every tile height, several panels of a wide input).
void checkConvTranspose(CheckReport &r);

/// conv_winograd (m = 2 and 4, every block height) against the reference
/// convolution: 3x3 stride-1 2-D geometries, padding 0 to 2, sizes not a
/// multiple of the tile, k chunks, blocks of 32 to 96 tiles, bias,
/// residual, every activation, NaN through ReLU.
void checkConvWinograd(CheckReport &r);

/// The vector math and the Vec kernels outside the convolutions: vexp()
/// against std::exp over the whole float range (inf, NaN, subnormals), the
/// vectorised activations against the scalar activate(), linear, the
/// broadcast binary and global average pooling against double loops.
void checkVecMath(CheckReport &r);

/// max_pool (no indices) against a window loop: 1-3-d windows of sizes 1
/// to 4, strides 1 to 3, padding, dilation, rows of up to 80 outputs (the
/// vector tiles, the overlapping last tile and the edges one by one), NaN
/// and -inf inputs.
void checkMaxPool(CheckReport &r);

/// depthwise_conv against the reference convolution: the sweep of
/// tests/unit/depthwise_check.h (kernel sizes, strides, padding, dilation,
/// row widths around the vector width, bias, residual, every activation,
/// NaN and Inf through ReLU, the staged and the in-place paths).
void checkDepthwise(CheckReport &r);

} // namespace kiln_test
