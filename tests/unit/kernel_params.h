// What the unit tests that call runtime kernels share: a lowering's
// parameter tree as the runtime's parameter struct (which also pins the
// layout the backends rely on: every field a 4-byte int or float) and
// seeded random data.
#pragma once

#include "ir/op_def.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

namespace kiln {

/// The kernel parameter tree as the 4-byte words of the runtime struct.
inline void flattenParams(const KernelParam &p, std::vector<uint32_t> &out) {
  switch (p.kind) {
  case KernelParam::Kind::Int:
    out.push_back(uint32_t(int32_t(p.i)));
    break;
  case KernelParam::Kind::Float: {
    float f = float(p.f);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    out.push_back(u);
    break;
  }
  case KernelParam::Kind::Ints:
    for (int64_t v : p.ints)
      out.push_back(uint32_t(int32_t(v)));
    break;
  case KernelParam::Kind::Struct:
    for (const auto &f : p.fields)
      flattenParams(f, out);
    break;
  }
}

/// The runtime struct P of a kernel call (a test failure if the sizes
/// differ).
template <typename P> P paramsOf(const KernelCall &kc) {
  std::vector<uint32_t> words;
  flattenParams(kc.params, words);
  EXPECT_EQ(words.size() * 4, sizeof(P)) << kc.paramsType << " layout";
  P p{};
  std::memcpy(&p, words.data(), std::min(sizeof(P), words.size() * 4));
  return p;
}

/// n floats uniform in [-1, 1].
inline std::shared_ptr<std::vector<float>> randomData(int64_t n,
                                                      std::mt19937 &rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  auto v = std::make_shared<std::vector<float>>(size_t(n));
  for (float &x : *v)
    x = d(rng);
  return v;
}

/// The largest |a[i] - b[i]| (the sizes must match).
inline double maxDiff(const std::vector<float> &a,
                      const std::vector<float> &b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])));
  return worst;
}

} // namespace kiln
