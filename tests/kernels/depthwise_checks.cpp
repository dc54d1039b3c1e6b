// The depthwise convolution checks (tests/unit/depthwise_check.h) with the
// micro-kernel ISA this object is compiled for (CMakeLists.txt gives it the
// ISA's flags, like isa_checks.cpp).
#include "kernel_check.h"

#include "tests/unit/depthwise_check.h"

namespace kiln_test {

void checkDepthwise(CheckReport &r) {
  namespace dw = depthwise;
  dw::Report d;
  dw::checkAll<dw::Native>(d, kernelIsa());
  dw::fallBackToConv(d, kernelIsa());
  r.passed += d.passed;
  r.failed += d.failed;
  r.failures += d.failures;
}

} // namespace kiln_test
