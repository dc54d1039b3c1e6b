// GoogleTest driver of the per-ISA kernel checks (kernel_check.h): skips,
// with a message, when this CPU lacks the ISA the checks were built for.
#include "kernel_check.h"

#include <gtest/gtest.h>

#include <cstring>

namespace {

/// Whether the CPU running the test has `isa` (kiln_rt::uk::kIsa names).
bool cpuHas(const char *isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (!std::strcmp(isa, "avx512"))
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  if (!std::strcmp(isa, "avx2"))
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  (void)isa;
  return true;
}

/// Runs one sweep of kernel_check.h on this build's ISA (or skips, saying
/// why) and expects no failure in at least `atLeast` cases.
void runSweep(const char *kernel, void (*sweep)(kiln_test::CheckReport &),
              int atLeast) {
  const char *isa = kiln_test::kernelIsa();
  if (!cpuHas(isa))
    GTEST_SKIP() << "this CPU lacks " << isa << ": its kernels are not run";
  kiln_test::CheckReport r;
  sweep(r);
  EXPECT_EQ(r.failed, 0) << isa << ":\n" << r.failures;
  EXPECT_GT(r.passed, atLeast) << "the sweep ran too few cases";
  std::printf("[ %s ] %s: %d cases passed\n", isa, kernel, r.passed);
}

TEST(IsaKernels, ConvGemmMatchesReference) {
  runSweep("conv_gemm", kiln_test::checkConvGemm, 1000);
}

TEST(IsaKernels, ConvWinogradMatchesReference) {
  runSweep("conv_winograd", kiln_test::checkConvWinograd, 1000);
}

TEST(IsaKernels, VecMathMatchesReference) {
  runSweep("vexp, activations, linear, binary, global avg pool",
           kiln_test::checkVecMath, 1000);
}

TEST(IsaKernels, MaxPoolMatchesReference) {
  runSweep("max_pool", kiln_test::checkMaxPool, 590);
}

TEST(IsaKernels, DepthwiseMatchesReference) {
  runSweep("depthwise_conv", kiln_test::checkDepthwise, 8000);
}

TEST(IsaKernels, ConvTransposeKernelsMatchReference) {
  runSweep("conv_transpose_gemm, conv_transpose_phases",
           kiln_test::checkConvTranspose, 3000);
}

} // namespace
