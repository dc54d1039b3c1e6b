// The runtime kernels as LLVM bitcode for the LLVM backend: one extern "C"
// wrapper per kernel name the op table's lowerings use (KernelCall::kernel
// `K` is `kiln_rt_K`), taking a pointer to the constant parameter struct
// then the kernel's pointer arguments. The kernels themselves are the
// header-only ones the C++ backend includes (runtime/kiln), so both backends
// compute the same thing.
//
// Built at build time, once per target family, with
//   clang++-16 -O2 -Xclang -disable-llvm-passes -emit-llvm -c -std=c++17
//              -fno-exceptions -fno-rtti -ffp-contract=off
//              -DKILN_FREESTANDING -nostdinc++ -nostdlibinc --target=T
// (unoptimised: Kiln's pipeline optimises the specialised kernels) and
// embedded in `kiln` (cmake/EmbedBitcode.cmake). The backend makes the
// wrappers internal, calls them with constant parameter globals and lets
// LLVM's pipeline inline and specialise them (docs/llvm-backend.md).
//
// `kiln_rt_K_params_bytes` is sizeof the wrapper's parameter struct: the
// backend checks each flattened KernelParam tree against it (and drops it).
#ifndef KILN_FREESTANDING
#error "runtime/llvm/kernels.cpp is built with -DKILN_FREESTANDING"
#endif

#include "kiln/runtime.h"

#include <stdint.h>

#define KILN_UNPAREN(...) __VA_ARGS__
/// Defines kiln_rt_NAME(const kiln_rt::PARAMS *p, ARGS...) calling
/// kiln_rt::NAME(*p, NAMES...), and kiln_rt_NAME_params_bytes.
#define KILN_WRAP(NAME, PARAMS, ARGS, NAMES)                                   \
  extern "C" const unsigned kiln_rt_##NAME##_params_bytes =                    \
      sizeof(kiln_rt::PARAMS);                                                 \
  extern "C" void kiln_rt_##NAME(const kiln_rt::PARAMS *p,                     \
                                 KILN_UNPAREN ARGS) {                          \
    kiln_rt::NAME(*p, KILN_UNPAREN NAMES);                                     \
  }

using F = const float *;
using Y = float *;

// conv.h, depthwise.h, conv_transpose.h
KILN_WRAP(conv, ConvParams, (F x, F w, F b, F r, Y y), (x, w, b, r, y))
KILN_WRAP(depthwise_conv, ConvParams, (F x, F w, F b, F r, Y y),
          (x, w, b, r, y))
KILN_WRAP(conv_transpose, ConvParams, (F x, F w, F b, F r, Y y),
          (x, w, b, r, y))
// conv_gemm.h, conv_transpose_gemm.h, conv_transpose_phases.h,
// conv_winograd.h (one wrapper per block height)
#define KILN_WRAP_CONV_GEMM(NAME, PARAMS, MR)                                  \
  KILN_WRAP(NAME##_mr##MR, PARAMS, (F x, F w, F b, F r, Y y, Y s),             \
            (x, w, b, r, y, s))
#define KILN_WRAP_CONV_GEMMS(NAME, PARAMS)                                     \
  KILN_WRAP_CONV_GEMM(NAME, PARAMS, 4)                                         \
  KILN_WRAP_CONV_GEMM(NAME, PARAMS, 6)                                         \
  KILN_WRAP_CONV_GEMM(NAME, PARAMS, 8)                                         \
  KILN_WRAP_CONV_GEMM(NAME, PARAMS, 12)                                        \
  KILN_WRAP_CONV_GEMM(NAME, PARAMS, 16)
KILN_WRAP_CONV_GEMMS(conv_gemm, ConvGemmParams)
KILN_WRAP_CONV_GEMMS(conv_transpose_gemm, ConvTransposeGemmParams)
KILN_WRAP_CONV_GEMMS(conv_transpose_phases, ConvTransposeGemmParams)
KILN_WRAP_CONV_GEMMS(conv_winograd, ConvWinogradParams)
// linear.h
KILN_WRAP(linear, LinearParams, (F x, F w, F b, F r, Y y), (x, w, b, r, y))
// pool.h
KILN_WRAP(max_pool, PoolParams, (F x, Y y, int32_t *i), (x, y, i))
KILN_WRAP(avg_pool, PoolParams, (F x, Y y), (x, y))
// adaptive_pool.h
KILN_WRAP(adaptive_max_pool, AdaptivePoolParams, (F x, Y y, int32_t *i),
          (x, y, i))
KILN_WRAP(adaptive_avg_pool, AdaptivePoolParams, (F x, Y y), (x, y))
// unpool.h
KILN_WRAP(max_unpool, UnpoolParams, (F x, const int32_t *i, Y y), (x, i, y))
KILN_WRAP(indices_to_float, IndexCastParams, (const int32_t *i, Y y), (i, y))
// elementwise.h
KILN_WRAP(unary, UnaryParams, (F x, Y y), (x, y))
KILN_WRAP(prelu, ChannelParams, (F x, F w, Y y), (x, w, y))
KILN_WRAP(batch_norm, ChannelParams, (F x, F m, F v, F w, F b, Y y),
          (x, m, v, w, b, y))
// normalize.h
KILN_WRAP(softmax, SoftmaxParams, (F x, Y y), (x, y))
KILN_WRAP(local_response_norm, LrnParams, (F x, Y y), (x, y))
KILN_WRAP(batch_norm_batch_stats, BatchStatsParams, (F x, F w, F b, Y y),
          (x, w, b, y))
// broadcast.h
KILN_WRAP(binary, BinaryParams, (F a, F b, Y y), (a, b, y))
KILN_WRAP(reduce, ReduceParams, (F x, Y y), (x, y))
KILN_WRAP(copy_slice, SliceParams, (F x, Y y), (x, y))
// pad.h
KILN_WRAP(pad, PadParams, (F x, Y y), (x, y))
// transpose.h, slice.h, matmul.h
KILN_WRAP(transpose, TransposeParams, (F x, Y y), (x, y))
KILN_WRAP(slice_range, SliceRangeParams, (F x, Y y), (x, y))
KILN_WRAP(matmul, MatmulParams, (F a, F b, Y y), (a, b, y))
// row_norm.h, upsample.h
KILN_WRAP(row_norm, RowNormParams, (F x, F w, F b, Y y), (x, w, b, y))
KILN_WRAP(upsample_nearest, UpsampleNearestParams, (F x, Y y), (x, y))
KILN_WRAP(upsample_bilinear, UpsampleBilinearParams, (F x, Y y), (x, y))

/// The output copies (no parameter struct: the element count).
/// The run's floating-point mode (kernels/fp_mode.h), set at entry and
/// restored before the run returns.
extern "C" unsigned kiln_rt_fp_mode_enter() { return kiln_rt::fp_mode_enter(); }
extern "C" void kiln_rt_fp_mode_leave(unsigned saved) {
  kiln_rt::fp_mode_leave(saved);
}

extern "C" void kiln_rt_copy(kiln_rt::index_t n, F x, Y y) {
  kiln_rt::copy(n, x, y);
}
