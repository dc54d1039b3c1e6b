// The max-pooling checks with the micro-kernel ISA this object is compiled
// for (CMakeLists.txt gives it the ISA's flags, like isa_checks.cpp):
// max_pool against a window loop written here, over a seeded sweep.
#include "kernel_check.h"

#include "kiln/runtime.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln_test {
namespace {

/// PyTorch's max pooling of one output: the largest value of the window's
/// inputs (the padding is -inf), NaN if the window holds a NaN.
float referenceMax(const kiln_rt::PoolParams &p, const float *xp, int od,
                   int oh, int ow) {
  float m = -INFINITY;
  bool nan = false;
  for (int kd = 0; kd < p.k[0]; ++kd)
    for (int kh = 0; kh < p.k[1]; ++kh)
      for (int kw = 0; kw < p.k[2]; ++kw) {
        const int id = od * p.stride[0] - p.pad[0] + kd * p.dil[0];
        const int ih = oh * p.stride[1] - p.pad[1] + kh * p.dil[1];
        const int iw = ow * p.stride[2] - p.pad[2] + kw * p.dil[2];
        if (id < 0 || id >= p.in[0] || ih < 0 || ih >= p.in[1] || iw < 0 ||
            iw >= p.in[2])
          continue;
        const float v = xp[(int64_t(id) * p.in[1] + ih) * p.in[2] + iw];
        nan |= std::isnan(v);
        m = v > m ? v : m;
      }
  return nan ? NAN : m;
}

void maxPoolCase(Rng &rng, int index, CheckReport &rep) {
  kiln_rt::PoolParams p{};
  const int dims = rng.range(1, 3);
  p.planes = rng.range(1, 3);
  for (int i = 0; i < 3; ++i) {
    const bool used = i >= 3 - dims;
    p.k[i] = used ? rng.range(1, 4) : 1;
    p.stride[i] = used ? rng.range(1, 3) : 1;
    p.dil[i] = used ? rng.range(1, 2) : 1;
    p.pad[i] = used ? rng.range(0, p.k[i] / 2) : 0;
    const int span = (p.k[i] - 1) * p.dil[i] + 1;
    const int maxIn = i == 2 ? 80 : dims == 3 ? 6 : 12;
    const int minIn = span > 2 * p.pad[i] ? span - 2 * p.pad[i] : 1;
    p.in[i] = used ? rng.range(minIn, maxIn > minIn ? maxIn : minIn) : 1;
    p.out[i] = used ? (p.in[i] + 2 * p.pad[i] - span) / p.stride[i] + 1 : 1;
  }
  const int64_t inPlane = int64_t(p.in[0]) * p.in[1] * p.in[2];
  const int64_t outPlane = int64_t(p.out[0]) * p.out[1] * p.out[2];
  std::vector<float> x(size_t(p.planes * inPlane));
  for (float &v : x)
    v = float(int(rng.next() % 2001) - 1000) / 100.0f;
  // NaN and -inf inputs at times (a window of -inf only gives -inf).
  if (index % 5 == 1)
    x[rng.next() % x.size()] = NAN;
  if (index % 7 == 2)
    for (int t = 0; t < 8; ++t)
      x[rng.next() % x.size()] = -INFINITY;
  std::vector<float> y(size_t(p.planes * outPlane), 12345.0f);
  kiln_rt::max_pool(p, x.data(), y.data(), nullptr);
  int bad = 0;
  std::string first;
  for (int c = 0; c < p.planes; ++c)
    for (int od = 0; od < p.out[0]; ++od)
      for (int oh = 0; oh < p.out[1]; ++oh)
        for (int ow = 0; ow < p.out[2]; ++ow) {
          const float want =
              referenceMax(p, x.data() + c * inPlane, od, oh, ow);
          const float got = y[size_t(
              c * outPlane + (int64_t(od) * p.out[1] + oh) * p.out[2] + ow)];
          const bool ok = std::isnan(want) ? std::isnan(got) : got == want;
          if (!ok && bad++ == 0)
            first = "output (" + std::to_string(c) + ", " + std::to_string(od) +
                    ", " + std::to_string(oh) + ", " + std::to_string(ow) +
                    "): got " + std::to_string(got) + ", want " +
                    std::to_string(want);
        }
  if (bad)
    rep.fail("max_pool case " + std::to_string(index) + " in " +
             std::to_string(p.in[0]) + "x" + std::to_string(p.in[1]) + "x" +
             std::to_string(p.in[2]) + " k " + std::to_string(p.k[2]) +
             " stride " + std::to_string(p.stride[2]) + " pad " +
             std::to_string(p.pad[2]) + " dil " + std::to_string(p.dil[2]) +
             ": " + std::to_string(bad) + " wrong, first " + first);
  else
    ++rep.passed;
}

} // namespace

void checkMaxPool(CheckReport &r) {
  Rng rng{20261210};
  for (int i = 0; i < 600; ++i)
    maxPoolCase(rng, i, r);
}

} // namespace kiln_test
