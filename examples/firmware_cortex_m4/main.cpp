// Firmware example: the LeNet that `kiln compile` writes (lenet.h,
// lenet.cpp, lenet.weights.bin, kiln/), run by a bare-metal main on a
// Cortex-M4. Everything is static: the weights are read-only data in flash,
// the arena and the output are zero-initialised RAM (.bss); nothing uses the
// heap. The sample input and PyTorch's output for it (sample.h, written by
// run.sh from examples/lenet/input_x.npy and expected_y.npy) stand in for a
// sensor and a known answer.
//
// main returns 0 when the scores match PyTorch's (within float32 rounding:
// 1e-5 of the largest score, as ../shared/models/README.md states), 1 or 2
// for an error of lenet_run (null pointer, misaligned arena), 3 on a
// mismatch. Built with -DKILN_FW_HOST=1 for the host, the same file prints
// the scores (run.sh checks the numbers that way; see README.md).

#include "lenet.h"
#include "sample.h"

#if KILN_FW_HOST
#include <stdio.h>
#endif

namespace {

static_assert(sizeof(kSampleInput) / sizeof(kSampleInput[0]) ==
                  lenet::kInput0Elements,
              "sample.h does not match lenet's input");
static_assert(sizeof(kSampleExpected) / sizeof(kSampleExpected[0]) ==
                  lenet::kOutput0Elements,
              "sample.h does not match lenet's output");

// The model's scratch memory and its output: RAM, zeroed by the startup.
alignas(lenet::kArenaAlign) unsigned char arena[lenet::kArenaBytes];
float scores[lenet::kOutput0Elements];

float magnitude(float v) { return v < 0 ? -v : v; }

} // namespace

int main() {
  const int status = lenet_run(kSampleInput, scores, arena);
  if (status != 0)
    return status;
  float scale = 0, err = 0;
  size_t best = 0;
  for (size_t i = 0; i < lenet::kOutput0Elements; ++i) {
    scale = magnitude(kSampleExpected[i]) > scale
                ? magnitude(kSampleExpected[i])
                : scale;
    const float d = magnitude(scores[i] - kSampleExpected[i]);
    err = d > err ? d : err;
    if (scores[i] > scores[best])
      best = i;
  }
  const bool ok = err <= 1e-5f * scale;
#if KILN_FW_HOST
  for (size_t i = 0; i < lenet::kOutput0Elements; ++i)
    printf("score[%zu] = %.9g (PyTorch %.9g)\n", i,
           static_cast<double>(scores[i]),
           static_cast<double>(kSampleExpected[i]));
  printf("class %zu; max |score - PyTorch| = %.3g (tolerance %.3g): %s\n", best,
         static_cast<double>(err), static_cast<double>(1e-5f * scale),
         ok ? "ok" : "MISMATCH");
#else
  (void)best; // on a board: drive an output, send it over a UART, ...
#endif
  return ok ? 0 : 3;
}
