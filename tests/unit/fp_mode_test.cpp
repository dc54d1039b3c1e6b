// The run's floating-point mode (runtime/kiln/kernels/fp_mode.h): subnormals
// flushed inside a run on x86, the caller's mode back after it.
#include "runtime/kiln/kernels/fp_mode.h"

#include <gtest/gtest.h>

#include <cfloat>

namespace {

/// A subnormal product computed at run time (not folded by the compiler).
float subnormalProduct(float a, float b) {
  volatile float x = a, y = b;
  return x * y;
}

TEST(FpMode, RunFlushesSubnormalsAndRestoresTheCallersMode) {
#if defined(__SSE__)
  EXPECT_GT(subnormalProduct(FLT_MIN, 0.5f), 0.0f);
  const unsigned before = __builtin_ia32_stmxcsr(); // with its status flags
  ASSERT_EQ(before & 0x8040u, 0u) << "the test starts in IEEE mode";
  {
    const kiln_rt::RunFpMode mode;
    EXPECT_EQ(__builtin_ia32_stmxcsr() & 0x8040u, 0x8040u);
    EXPECT_EQ(subnormalProduct(FLT_MIN, 0.5f), 0.0f);
    // Normal numbers are untouched.
    EXPECT_EQ(subnormalProduct(FLT_MIN, 2.0f), 2.0f * FLT_MIN);
  }
  EXPECT_EQ(__builtin_ia32_stmxcsr(), before);
  EXPECT_GT(subnormalProduct(FLT_MIN, 0.5f), 0.0f);
#else
  GTEST_SKIP() << "no MXCSR on this target: the run keeps the caller's mode";
#endif
}

} // namespace
