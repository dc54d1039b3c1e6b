// The per-ISA kernel checks (kernel_check.h) as a plain program, for targets
// without GoogleTest: the NEON build run under qemu-aarch64. Prints
// "N passed, M failed" and exits non-zero on a failure.
#include "kernel_check.h"

#include <cstdio>

int main() {
  kiln_test::CheckReport r;
  kiln_test::checkConvGemm(r);
  kiln_test::checkConvTranspose(r);
  kiln_test::checkConvWinograd(r);
  std::printf("%s", r.failures.c_str());
  std::printf("[ %s ] conv_gemm, conv_transpose_gemm, conv_transpose_phases, "
              "conv_winograd: %d passed, %d failed\n",
              kiln_test::kernelIsa(), r.passed, r.failed);
  kiln_test::CheckReport d;
  kiln_test::checkDepthwise(d);
  std::printf("%s", d.failures.c_str());
  std::printf("[ %s ] depthwise_conv: %d passed, %d failed\n",
              kiln_test::kernelIsa(), d.passed, d.failed);
  kiln_test::CheckReport m;
  kiln_test::checkMaxPool(m);
  std::printf("%s", m.failures.c_str());
  std::printf("[ %s ] max_pool: %d passed, %d failed\n", kiln_test::kernelIsa(),
              m.passed, m.failed);
  kiln_test::CheckReport v;
  kiln_test::checkVecMath(v);
  std::printf("%s", v.failures.c_str());
  std::printf("[ %s ] vector math: %d passed, %d failed\n",
              kiln_test::kernelIsa(), v.passed, v.failed);
  return v.failed == 0 && v.passed > 1000 && r.failed == 0 && r.passed > 3000 &&
                 d.failed == 0 && d.passed > 8000 && m.failed == 0 &&
                 m.passed > 590
             ? 0
             : 1;
}
