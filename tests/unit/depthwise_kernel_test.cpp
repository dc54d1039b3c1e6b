// The depthwise convolution kernel against the reference convolution
// (depthwise_check.h): with the micro-kernel ISA of this build (the host
// compiler's default target) and with emulated vectors of 1 lane (the
// Cortex-M's scalar path) and 3 lanes (a count no ISA has, for the lane
// logic). tests/kernels runs the same checks once per ISA (AVX2, AVX-512,
// portable, scalar, NEON under qemu).
#include "depthwise_check.h"

#include <gtest/gtest.h>

namespace {

namespace dw = kiln_test::depthwise;
using Native = dw::Native;
using Lanes1 = dw::ArrayVec<1>;
using Lanes3 = dw::ArrayVec<3>;

/// Fails the test with the report's failures.
void expectClean(const dw::Report &r) { EXPECT_EQ(r.failed, 0) << r.failures; }

TEST(DepthwiseKernel, SweepNarrowRows) {
  dw::Report r;
  EXPECT_GT(dw::sweep<Native>(dw::narrowWidths(), 1, r, kiln_rt::uk::kIsa),
            5000);
  expectClean(r);
}

TEST(DepthwiseKernel, SweepWideRows) {
  dw::Report r;
  EXPECT_GT(dw::sweep<Native>(dw::wideWidths(), 2, r, kiln_rt::uk::kIsa), 1500);
  expectClean(r);
}

TEST(DepthwiseKernel, EveryActivationWithBiasAndResidual) {
  dw::Report r;
  dw::everyActivation<Native>(r, kiln_rt::uk::kIsa);
  expectClean(r);
}

TEST(DepthwiseKernel, MobileNetShapes) {
  dw::Report r;
  dw::mobileNetShapes<Native>(r, kiln_rt::uk::kIsa);
  expectClean(r);
}

TEST(DepthwiseKernel, NanAndInfInputs) {
  dw::Report r;
  dw::nanAndInf<Native>(r, kiln_rt::uk::kIsa);
  expectClean(r);
}

TEST(DepthwiseKernel, InputReadInPlace) {
  dw::Report r;
  EXPECT_GT(dw::directPath<Native>(r, kiln_rt::uk::kIsa), 400);
  expectClean(r);
}

TEST(DepthwiseKernel, OtherConvolutionsFallBackToConv) {
  dw::Report r;
  dw::fallBackToConv(r, kiln_rt::uk::kIsa);
  EXPECT_EQ(r.passed, 2);
  expectClean(r);
}

TEST(DepthwiseKernel, EmulatedOneLane) {
  dw::Report r;
  EXPECT_GT(dw::checkAll<Lanes1>(r, "emulated 1 lane"), 7000);
  expectClean(r);
}

TEST(DepthwiseKernel, EmulatedThreeLanes) {
  dw::Report r;
  EXPECT_GT(dw::checkAll<Lanes3>(r, "emulated 3 lanes"), 7000);
  expectClean(r);
}

} // namespace
