// Fused vs unfused epilogues, measured on the runtime kernels that the
// pack-weights pass lowers to, as generated code calls them (constant
// parameter structs, weights packed beforehand, built for the host CPU like
// `kiln build`): a conv alone (conv_gemm), the conv with its ReLU fused (one
// loop nest, each output written once), and the conv then a separate ReLU
// over its output (what -O0 generates); the same for a ResNet-style residual
// add + ReLU, for a depthwise conv + ReLU6 (depthwise_conv) and for a linear
// layer.
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

// ResNet-18 layer1: 64 -> 64 channels, 3x3, 56x56, batch 1, as an implicit
// GEMM (Winograd off): blocks of 8 output channels (4 where the ISA holds
// fewer rows), k in 3 chunks of 192 (pack-weights picks 192 for AVX2, 116
// for AVX-512: close enough to time the epilogues), strips of the ISA's
// tile width.
constexpr int kMR = kiln_rt::uk::Vec::kMaxRows >= 8 ? 8 : 4;
constexpr kiln_rt::ConvGemmParams convParams(int act) {
  return {1,
          64,
          64,
          1,
          {1, 56, 56},
          {1, 56, 56},
          {1, 3, 3},
          {1, 1, 1},
          {0, 1, 1},
          {1, 1, 1},
          kMR,
          192,
          kiln_rt::uk::kNR,
          {act, 0, 0}};
}
constexpr kiln_rt::ConvGemmParams kConv = convParams(kiln_rt::ACT_NONE);
constexpr kiln_rt::ConvGemmParams kConvRelu = convParams(kiln_rt::ACT_RELU);
constexpr int kK = 64 * 9;
constexpr int kOut = 64 * 56 * 56;
constexpr kiln_rt::UnaryParams kRelu = {kOut, {kiln_rt::ACT_RELU, 0, 0}};
constexpr kiln_rt::BinaryParams kAdd = {kiln_rt::BIN_ADD,
                                        1.0f,
                                        {1, 1, 1, 1, 1, kOut},
                                        {0, 0, 0, 0, 0, 1},
                                        {0, 0, 0, 0, 0, 1}};

/// PyTorch's [64][64][3][3] weights in conv_gemm's blocked layout.
std::vector<float> packedWeights() {
  const std::vector<float> plain = randomVector(64 * kK, 2);
  std::vector<float> packed(kiln_rt::packed_weight_size(1, 64, kK, kMR));
  kiln_rt::for_each_blocked(1, 64, kK, kMR,
                            [&](kiln_rt::index_t from, kiln_rt::index_t to) {
                              packed[size_t(to)] = plain[size_t(from)];
                            });
  return packed;
}

struct ConvData {
  std::vector<float> x = randomVector(64 * 56 * 56, 1), w = packedWeights(),
                     b = randomVector(64, 3), r = randomVector(kOut, 4),
                     y = std::vector<float>(kOut), t = std::vector<float>(kOut),
                     scratch = std::vector<float>(
                         size_t(kiln_rt::conv_gemm_scratch_floats(
                             192, kiln_rt::uk::kNR)));
  void conv(const kiln_rt::ConvGemmParams &p, const float *res, float *out) {
    kiln_rt::conv_gemm<kMR>(p, x.data(), w.data(), b.data(), res, out,
                            scratch.data());
  }
};

void BM_Conv(benchmark::State &s) {
  ConvData d;
  for (auto _ : s) {
    d.conv(kConv, nullptr, d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_ConvReluFused(benchmark::State &s) {
  ConvData d;
  for (auto _ : s) {
    d.conv(kConvRelu, nullptr, d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_ConvThenRelu(benchmark::State &s) {
  ConvData d;
  for (auto _ : s) {
    d.conv(kConv, nullptr, d.t.data());
    kiln_rt::unary(kRelu, d.t.data(), d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_ConvAddReluFused(benchmark::State &s) {
  ConvData d;
  for (auto _ : s) {
    d.conv(kConvRelu, d.r.data(), d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_ConvThenAddThenRelu(benchmark::State &s) {
  ConvData d;
  std::vector<float> u(kOut);
  for (auto _ : s) {
    d.conv(kConv, nullptr, d.t.data());
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
    kiln_rt::depthwise_conv(kDw, d.x.data(), d.w.data(), d.b.data(), nullptr,
                            d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_DepthwiseRelu6Fused(benchmark::State &s) {
  DwData d;
  for (auto _ : s) {
    kiln_rt::depthwise_conv(kDwRelu6, d.x.data(), d.w.data(), d.b.data(),
                            nullptr, d.y.data());
    benchmark::DoNotOptimize(d.y.data());
  }
}

void BM_DepthwiseThenRelu6(benchmark::State &s) {
  DwData d;
  for (auto _ : s) {
    kiln_rt::depthwise_conv(kDw, d.x.data(), d.w.data(), d.b.data(), nullptr,
                            d.t.data());
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
