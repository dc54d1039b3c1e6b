// Fused vs unfused epilogues, measured on the runtime kernels as generated
// code calls them (constant parameter structs): a conv alone, the conv with
// its ReLU fused (one loop nest, each output written once), and the conv
// then a separate ReLU over its output (what -O0 generates); the same for
// a ResNet-style residual add + ReLU, and for a linear layer.
#include "kiln/runtime.h"

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

namespace {

std::vector<float> randomVector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

// ResNet-18 layer1: 64 -> 64 channels, 3x3, 56x56, batch 1.
constexpr kiln_rt::ConvParams convParams(int act) {
  return {1,         64,        64,        1,         {1, 56, 56}, {1, 56, 56},
          {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, {act, 0, 0}};
}
constexpr kiln_rt::ConvParams kConv = convParams(kiln_rt::ACT_NONE);
constexpr kiln_rt::ConvParams kConvRelu = convParams(kiln_rt::ACT_RELU);
constexpr int kOut = 64 * 56 * 56;
constexpr kiln_rt::UnaryParams kRelu = {kOut, {kiln_rt::ACT_RELU, 0, 0}};
constexpr kiln_rt::BinaryParams kAdd = {kiln_rt::BIN_ADD,
                                        1.0f,
                                        {1, 1, 1, 1, 1, kOut},
                                        {0, 0, 0, 0, 0, 1},
                                        {0, 0, 0, 0, 0, 1}};

struct ConvData {
  std::vector<float> x = randomVector(64 * 56 * 56, 1),
                     w = randomVector(64 * 64 * 9, 2), b = randomVector(64, 3),
                     r = randomVector(kOut, 4), y = std::vector<float>(kOut),
                     t = std::vector<float>(kOut);
};

void BM_Conv(benchmark::State &s) {
  ConvData d;
  for (auto _ : s) {
    kiln_rt::conv(kConv, d.x.data(), d.w.data(), d.b.data(), nullptr,
                  d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_ConvReluFused(benchmark::State &s) {
  ConvData d;
  for (auto _ : s) {
    kiln_rt::conv(kConvRelu, d.x.data(), d.w.data(), d.b.data(), nullptr,
                  d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_ConvThenRelu(benchmark::State &s) {
  ConvData d;
  for (auto _ : s) {
    kiln_rt::conv(kConv, d.x.data(), d.w.data(), d.b.data(), nullptr,
                  d.t.data());
    kiln_rt::unary(kRelu, d.t.data(), d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_ConvAddReluFused(benchmark::State &s) {
  ConvData d;
  for (auto _ : s) {
    kiln_rt::conv(kConvRelu, d.x.data(), d.w.data(), d.b.data(), d.r.data(),
                  d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_ConvThenAddThenRelu(benchmark::State &s) {
  ConvData d;
  std::vector<float> u(kOut);
  for (auto _ : s) {
    kiln_rt::conv(kConv, d.x.data(), d.w.data(), d.b.data(), nullptr,
                  d.t.data());
    kiln_rt::binary(kAdd, d.t.data(), d.r.data(), u.data());
    kiln_rt::unary(kRelu, u.data(), d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

// MobileNetV2's first depthwise conv: 32 channels, 3x3, 112x112, groups 32.
// Little arithmetic per output, so a second pass over the output shows.
constexpr kiln_rt::ConvParams depthwise(int act) {
  return {
      1,         32,        32,        32,        {1, 112, 112}, {1, 112, 112},
      {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, {act, 0, 0}};
}
constexpr kiln_rt::ConvParams kDw = depthwise(kiln_rt::ACT_NONE);
constexpr kiln_rt::ConvParams kDwRelu6 = depthwise(kiln_rt::ACT_RELU6);
constexpr int kDwOut = 32 * 112 * 112;
constexpr kiln_rt::UnaryParams kRelu6Dw = {kDwOut, {kiln_rt::ACT_RELU6, 0, 0}};

struct DwData {
  std::vector<float> x = randomVector(kDwOut, 8), w = randomVector(32 * 9, 9),
                     b = randomVector(32, 10), y = std::vector<float>(kDwOut),
                     t = std::vector<float>(kDwOut);
};

void BM_Depthwise(benchmark::State &s) {
  DwData d;
  for (auto _ : s) {
    kiln_rt::conv(kDw, d.x.data(), d.w.data(), d.b.data(), nullptr, d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_DepthwiseRelu6Fused(benchmark::State &s) {
  DwData d;
  for (auto _ : s) {
    kiln_rt::conv(kDwRelu6, d.x.data(), d.w.data(), d.b.data(), nullptr,
                  d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_DepthwiseThenRelu6(benchmark::State &s) {
  DwData d;
  for (auto _ : s) {
    kiln_rt::conv(kDw, d.x.data(), d.w.data(), d.b.data(), nullptr, d.t.data());
    kiln_rt::unary(kRelu6Dw, d.t.data(), d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

// A classifier layer: 4096 -> 4096, batch 1.
constexpr kiln_rt::LinearParams kLinear = {1, 4096, 4096, {0, 0, 0}};
constexpr kiln_rt::LinearParams kLinearRelu = {
    1, 4096, 4096, {kiln_rt::ACT_RELU, 0, 0}};
constexpr kiln_rt::UnaryParams kRelu4096 = {4096, {kiln_rt::ACT_RELU, 0, 0}};

struct LinearData {
  std::vector<float> x = randomVector(4096, 5),
                     w = randomVector(4096 * 4096, 6),
                     b = randomVector(4096, 7), y = std::vector<float>(4096),
                     t = std::vector<float>(4096);
};

void BM_Linear(benchmark::State &s) {
  LinearData d;
  for (auto _ : s) {
    kiln_rt::linear(kLinear, d.x.data(), d.w.data(), d.b.data(), nullptr,
                    d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_LinearReluFused(benchmark::State &s) {
  LinearData d;
  for (auto _ : s) {
    kiln_rt::linear(kLinearRelu, d.x.data(), d.w.data(), d.b.data(), nullptr,
                    d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_LinearThenRelu(benchmark::State &s) {
  LinearData d;
  for (auto _ : s) {
    kiln_rt::linear(kLinear, d.x.data(), d.w.data(), d.b.data(), nullptr,
                    d.t.data());
    kiln_rt::unary(kRelu4096, d.t.data(), d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

} // namespace

BENCHMARK(BM_Conv)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConvReluFused)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConvThenRelu)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConvAddReluFused)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConvThenAddThenRelu)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Depthwise)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DepthwiseRelu6Fused)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DepthwiseThenRelu6)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Linear)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LinearReluFused)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LinearThenRelu)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
