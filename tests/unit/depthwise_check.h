// The checks of the depthwise convolution kernel (runtime/kiln/kernels/
// depthwise.h) against the reference convolution (double accumulation), on
// seeded random data over the sweep that changes its loops: kernel sizes,
// strides, paddings (symmetric and not), dilations, row widths around the
// vector width and its tiles, heights, channels, batches, bias, residual,
// every activation, NaN and Inf inputs.
//
// Free of GoogleTest, templated on the vector primitives, so that the same
// checks run in the unit tests (depthwise_kernel_test.cpp: the host's ISA
// and emulated vectors of 1 and 3 lanes) and once per micro-kernel ISA
// (tests/kernels/depthwise_checks.cpp, also cross-compiled for NEON).
#pragma once

#include <cstddef> // before conv_reference.h, which uses size_t

#include "ir/ops/conv_reference.h"
#include "kiln/kernels/depthwise.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace kiln_test::depthwise {

using kiln_rt::ConvParams;

/// Counts of checked cases and the first failures, as text.
struct Report {
  int passed = 0, failed = 0;
  std::string failures;
  void fail(const std::string &what) {
    if (++failed <= 8)
      failures += what + "\n";
  }
};

/// Vector primitives over N floats in a struct (plain IEEE float arithmetic,
/// fma rounded once like the hardware's), to check the kernel's lane logic
/// for lane counts the host has no ISA for.
template <int N> struct ArrayVec {
  struct V {
    float f[N];
  };
  static constexpr int kLanes = N;
  static V zero() { return splat(0.0f); }
  static V splat(float s) {
    V v;
    for (float &f : v.f)
      f = s;
    return v;
  }
  static V load(const float *p) {
    V v;
    std::memcpy(v.f, p, sizeof v.f);
    return v;
  }
  static void store(float *p, V v) { std::memcpy(p, v.f, sizeof v.f); }
  static V fma(V a, V b, V c) {
    for (int i = 0; i < N; ++i)
      c.f[i] = std::fma(a.f[i], b.f[i], c.f[i]);
    return c;
  }
  static V add(V a, V b) {
    for (int i = 0; i < N; ++i)
      a.f[i] += b.f[i];
    return a;
  }
  static V relu(V v) {
    for (float &f : v.f)
      f = kiln_rt::relu(f);
    return v;
  }
  static V relu6(V v) {
    for (float &f : v.f)
      f = f < 0.0f ? 0.0f : (f > 6.0f ? 6.0f : f);
    return v;
  }
};

/// The kernel with the build's primitives (depthwise_conv itself, so that
/// its dispatch is checked too) or with other ones.
template <class VT> struct Runner {
  static void run(const ConvParams &p, const float *x, const float *w,
                  const float *b, const float *r, float *y) {
    kiln_rt::depthwise_detail::depthwise_conv_vec<VT>(p, x, w, b, r, y);
  }
};
struct Native {};
template <> struct Runner<Native> {
  static void run(const ConvParams &p, const float *x, const float *w,
                  const float *b, const float *r, float *y) {
    kiln_rt::depthwise_conv(p, x, w, b, r, y);
  }
};

/// One case: a 2-D depthwise conv (1-D: h = kh = 1) and its epilogue.
struct Case {
  int n = 1, c = 1, h = 1, w = 1;
  int kh = 1, kw = 1, sh = 1, sw = 1;
  int pt = 0, pb = 0, pl = 0, pr = 0; // padding top, bottom, left, right
  int dh = 1, dw = 1;
  bool bias = false, residual = false;
  int act = kiln_rt::ACT_NONE;
  float a = 0, b = 0;

  int oh() const { return (h + pt + pb - dh * (kh - 1) - 1) / sh + 1; }
  int ow() const { return (w + pl + pr - dw * (kw - 1) - 1) / sw + 1; }
  bool valid() const {
    return h + pt + pb - dh * (kh - 1) >= 1 && w + pl + pr - dw * (kw - 1) >= 1;
  }
  std::string str() const {
    auto s = [](int v) { return std::to_string(v); };
    return "n" + s(n) + " c" + s(c) + " in " + s(h) + "x" + s(w) + " k " +
           s(kh) + "x" + s(kw) + " stride " + s(sh) + "x" + s(sw) + " pad t" +
           s(pt) + " b" + s(pb) + " l" + s(pl) + " r" + s(pr) + " dil " +
           s(dh) + "x" + s(dw) + (bias ? " bias" : "") +
           (residual ? " residual" : "") + " act " + s(act);
  }
};

/// The activation in double, written from PyTorch's definitions (not from
/// common.h), and a bound on its slope (how much it can grow an error).
inline double activation(const Case &k, double v, double &slope) {
  using namespace kiln_rt;
  slope = 1;
  switch (k.act) {
  case ACT_RELU:
    return std::isnan(v) ? v : (v < 0 ? 0.0 : v);
  case ACT_RELU6:
    return std::isnan(v) ? v : std::min(std::max(v, 0.0), 6.0);
  case ACT_LEAKY_RELU:
    slope = std::max(1.0, std::fabs(double(k.a)));
    return v >= 0 ? v : v * double(k.a);
  case ACT_HARDTANH:
    return std::min(std::max(v, double(k.a)), double(k.b));
  case ACT_SIGMOID:
    return 1 / (1 + std::exp(-v));
  case ACT_TANH:
    return std::tanh(v);
  case ACT_ELU:
    slope = std::max(1.0, std::fabs(double(k.a)));
    return v > 0 ? v : double(k.a) * (std::exp(v) - 1);
  case ACT_SILU:
    slope = 1.1;
    return v / (1 + std::exp(-v));
  case ACT_HARDSWISH:
    slope = 1.5;
    return v * std::min(std::max(v + 3, 0.0), 6.0) / 6;
  case ACT_HARDSIGMOID:
    return std::min(std::max(v + 3, 0.0), 6.0) / 6;
  case ACT_GELU:
    slope = 1.13;
    return 0.5 * v * (1 + std::erf(v * 0.70710678118654752));
  case ACT_GELU_TANH:
    slope = 1.13;
    return 0.5 * v *
           (1 + std::tanh(0.79788456080286536 * (v + 0.044715 * v * v * v)));
  case ACT_SOFTPLUS:
    return v * k.a > k.b ? v : std::log1p(std::exp(v * k.a)) / k.a;
  default:
    return v;
  }
}

constexpr int kActs[] = {
    kiln_rt::ACT_NONE,       kiln_rt::ACT_RELU,        kiln_rt::ACT_RELU6,
    kiln_rt::ACT_LEAKY_RELU, kiln_rt::ACT_HARDTANH,    kiln_rt::ACT_SIGMOID,
    kiln_rt::ACT_TANH,       kiln_rt::ACT_ELU,         kiln_rt::ACT_SILU,
    kiln_rt::ACT_HARDSWISH,  kiln_rt::ACT_HARDSIGMOID, kiln_rt::ACT_GELU,
    kiln_rt::ACT_GELU_TANH,  kiln_rt::ACT_SOFTPLUS};
constexpr int kNumActs = int(sizeof kActs / sizeof *kActs);

inline void setActivation(Case &k, int act) {
  k.act = act;
  k.a = k.b = 0;
  if (act == kiln_rt::ACT_LEAKY_RELU)
    k.a = 0.1f;
  else if (act == kiln_rt::ACT_HARDTANH)
    k.a = -0.5f, k.b = 0.75f;
  else if (act == kiln_rt::ACT_ELU)
    k.a = 1.5f;
  else if (act == kiln_rt::ACT_SOFTPLUS)
    k.a = 2.0f, k.b = 0.5f;
}

/// Elements guarded on both sides of the output (writes outside it show).
constexpr int kGuard = 64;
constexpr float kGuardValue = -1234.5f;

/// Runs case `k` on seeded data (`special`: some inputs NaN, +Inf or -Inf)
/// and compares every output with the reference:
///   |kiln - ref| <= slope * 1e-5 * (|bias| + sum |x w| + |residual|)
///                   + 1e-6 * (|ref| + [transcendental activation]) + 1e-30
/// (float32 sums of at most 49 taps round by less than 49 * 2^-24 = 3e-6 of
/// the sum of their magnitudes; slope: how much the activation can grow
/// that; 1e-6 (|ref| + 1): the float activation's own rounding, relative
/// for the piecewise linear ones, a few ulps of O(1) intermediates for those
/// computed with expf, tanhf, erff); NaN where the
/// reference is NaN, the exact value where it is infinite or clamped from
/// an infinity.
template <class VT>
bool checkCase(const Case &k, uint32_t seed, Report &rep, const char *what,
               bool special = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  const int OH = k.oh(), OW = k.ow();
  const size_t nx = size_t(k.n) * k.c * k.h * k.w;
  const size_t ny = size_t(k.n) * k.c * OH * OW;
  std::vector<float> x(nx), w(size_t(k.c) * k.kh * k.kw), b(size_t(k.c)), r(ny);
  for (float &v : x)
    v = u(rng);
  for (float &v : w)
    v = u(rng);
  for (float &v : b)
    v = u(rng);
  for (float &v : r)
    v = u(rng);
  if (special)
    for (float &v : x) {
      const float p = u(rng);
      if (p > 0.9f)
        v = NAN;
      else if (p > 0.8f)
        v = INFINITY;
      else if (p > 0.7f)
        v = -INFINITY;
    }

  ConvParams p{};
  p.n = k.n;
  p.cin = p.cout = p.groups = k.c;
  const int in[3] = {1, k.h, k.w}, out[3] = {1, OH, OW},
            ks[3] = {1, k.kh, k.kw}, st[3] = {1, k.sh, k.sw},
            pad[3] = {0, k.pt, k.pl}, dil[3] = {1, k.dh, k.dw};
  for (int i = 0; i < 3; ++i) {
    p.in[i] = in[i];
    p.out[i] = out[i];
    p.k[i] = ks[i];
    p.stride[i] = st[i];
    p.pad[i] = pad[i];
    p.dil[i] = dil[i];
  }
  p.ep = {k.act, k.a, k.b};

  std::vector<float> yg(ny + 2 * kGuard, kGuardValue);
  float *y = yg.data() + kGuard;
  // A fill no correct output equals (finite, NaN or Inf): an output the
  // kernel does not write fails.
  std::fill(y, y + ny, 1e30f);
  Runner<VT>::run(p, x.data(), w.data(), k.bias ? b.data() : nullptr,
                  k.residual ? r.data() : nullptr, y);

  // The reference: the conv in double, then + residual, then activation;
  // and the scale of each output's rounding (the conv of |x| with |w|).
  kiln::ops::ConvGeom g{{1, k.h, k.w},
                        {1, OH, OW},
                        {1, k.kh, k.kw},
                        {1, k.sh, k.sw},
                        {0, k.pt, k.pl},
                        {1, k.dh, k.dw},
                        k.n,
                        k.c,
                        k.c,
                        k.c};
  std::vector<float> ref(ny), scale(ny), ax(nx), aw(w.size()), ab(b.size());
  kiln::ops::referenceConv(g, x.data(), w.data(), k.bias ? b.data() : nullptr,
                           ref.data());
  for (size_t i = 0; i < nx; ++i)
    ax[i] = std::fabs(x[i]);
  for (size_t i = 0; i < w.size(); ++i)
    aw[i] = std::fabs(w[i]);
  for (size_t i = 0; i < b.size(); ++i)
    ab[i] = std::fabs(b[i]);
  kiln::ops::referenceConv(g, ax.data(), aw.data(),
                           k.bias ? ab.data() : nullptr, scale.data());

  const std::string where = std::string(what) + ": " + k.str() + " seed " +
                            std::to_string(seed) +
                            (special ? " (NaN/Inf inputs)" : "");
  for (int i = 0; i < kGuard; ++i)
    if (yg[size_t(i)] != kGuardValue ||
        yg[ny + kGuard + size_t(i)] != kGuardValue) {
      rep.fail(where + ": wrote outside the output");
      return false;
    }
  // Activations computed with expf, tanhf, erff, log1pf: their rounding is
  // a few ulps of their O(1) intermediates (1 + exp(-v), exp(v) - 1, ...),
  // not of the result.
  const bool transcendental =
      k.act == kiln_rt::ACT_SIGMOID || k.act == kiln_rt::ACT_TANH ||
      k.act == kiln_rt::ACT_ELU || k.act == kiln_rt::ACT_SILU ||
      k.act == kiln_rt::ACT_GELU || k.act == kiln_rt::ACT_GELU_TANH ||
      k.act == kiln_rt::ACT_SOFTPLUS;
  const double libm = transcendental ? 1.0 : 0.0;
  int bad = 0;
  for (size_t i = 0; i < ny; ++i) {
    double pre = ref[i], sc = scale[i];
    if (k.residual) {
      pre += r[i];
      sc += std::fabs(r[i]);
    }
    double slope;
    const double want = activation(k, pre, slope);
    const double got = y[i];
    bool ok;
    if (std::isnan(want))
      ok = std::isnan(got);
    else if (std::isinf(want) || !std::isfinite(sc))
      ok = got == want;
    else
      ok = std::fabs(got - want) <=
           slope * 1e-5 * sc + 1e-6 * (std::fabs(want) + libm) + 1e-30;
    if (!ok && bad++ == 0) {
      const size_t plane = size_t(OH) * OW;
      rep.fail(where + ": y[n" + std::to_string(i / (plane * k.c)) + "][c" +
               std::to_string(i / plane % k.c) + "][oh" +
               std::to_string(i % plane / OW) + "][ow" +
               std::to_string(i % OW) + "] = " + std::to_string(got) +
               ", reference " + std::to_string(want) + " (scale " +
               std::to_string(sc) + ")");
    }
  }
  if (bad == 0)
    ++rep.passed;
  return bad == 0;
}

struct Kernel {
  int kh, kw;
};
constexpr Kernel kKernels[] = {{1, 1}, {3, 3}, {5, 5}, {7, 7},
                               {3, 5}, {5, 3}, {1, 3}, {1, 5}};
struct Stride {
  int sh, sw;
};
constexpr Stride kStrides[] = {{1, 1}, {2, 2}, {2, 1}, {1, 2}, {3, 3}};
struct Pad {
  int t, b, l, r;
};
constexpr Pad kPads[] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2},
                         {0, 1, 0, 1}, {2, 1, 1, 2}, {3, 0, 0, 3}};

/// Every kernel, stride and padding at each width of `widths`, with
/// dilations (1 or 2 per dim), height 1..9, channels 1..17, batch 1..2,
/// bias, residual and activation drawn from a seeded generator; a 1xK
/// kernel is half the time the 1-D conv (height 1, no row padding).
/// Returns the cases run.
template <class VT>
int sweep(const std::vector<int> &widths, uint32_t seed0, Report &rep,
          const char *what) {
  std::mt19937 pick(seed0);
  int cases = 0;
  for (const Kernel &ker : kKernels)
    for (const Stride &st : kStrides)
      for (const Pad &pd : kPads)
        for (int width : widths) {
          Case k;
          k.kh = ker.kh;
          k.kw = ker.kw;
          k.sh = st.sh;
          k.sw = st.sw;
          const bool oneD = ker.kh == 1 && pick() % 2 == 0;
          k.pt = oneD ? 0 : pd.t;
          k.pb = oneD ? 0 : pd.b;
          k.pl = pd.l;
          k.pr = pd.r;
          k.dh = 1 + int(pick() % 2);
          k.dw = 1 + int(pick() % 2);
          k.w = width;
          k.h = oneD ? 1 : 1 + int(pick() % 9);
          k.c = 1 + int(pick() % 17);
          k.n = 1 + int(pick() % 2);
          k.bias = pick() % 2;
          k.residual = pick() % 2;
          setActivation(k, kActs[pick() % kNumActs]);
          const uint32_t seed = uint32_t(pick());
          if (!k.valid())
            continue;
          ++cases;
          checkCase<VT>(k, seed, rep, what);
          if (rep.failed >= 20)
            return cases;
        }
  return cases;
}

inline std::vector<int> narrowWidths() {
  std::vector<int> v;
  for (int w = 1; w <= 37; ++w)
    v.push_back(w);
  return v;
}

inline std::vector<int> wideWidths() {
  return {47, 63, 64, 65, 66, 97, 112, 113, 129, 150};
}

/// Every activation with bias and residual, rows of MobileNet's widths and
/// odd ones, stride 1 and 2.
template <class VT> void everyActivation(Report &rep, const char *what) {
  for (int act : kActs)
    for (int width : {5, 14, 28, 56, 57})
      for (int s = 1; s <= 2; ++s) {
        Case k;
        k.n = 2;
        k.c = 3;
        k.h = 6;
        k.w = width;
        k.kh = k.kw = 3;
        k.sh = k.sw = s;
        k.pt = k.pb = k.pl = k.pr = 1;
        k.bias = k.residual = true;
        setActivation(k, act);
        checkCase<VT>(k, uint32_t(100 + act), rep, what);
      }
}

/// MobileNetV2's depthwise layers (3x3, padding 1, stride 1 and 2) and
/// MobileNetV3 / EfficientNet's 5x5 ones (padding 2), channels cut down.
template <class VT> void mobileNetShapes(Report &rep, const char *what) {
  struct Shape {
    int c, hw, k, s;
  };
  const Shape shapes[] = {{4, 112, 3, 1}, {3, 112, 3, 2}, {5, 56, 3, 1},
                          {3, 56, 3, 2},  {4, 28, 3, 1},  {3, 28, 3, 2},
                          {6, 14, 3, 1},  {3, 14, 3, 2},  {7, 7, 3, 1},
                          {3, 56, 5, 2},  {4, 28, 5, 1},  {5, 14, 5, 1},
                          {4, 14, 5, 2},  {6, 7, 5, 1}};
  for (const Shape &sh : shapes)
    for (int act : {kiln_rt::ACT_RELU6, kiln_rt::ACT_HARDSWISH}) {
      Case k;
      k.c = sh.c;
      k.h = k.w = sh.hw;
      k.kh = k.kw = sh.k;
      k.sh = k.sw = sh.s;
      k.pt = k.pb = k.pl = k.pr = sh.k / 2;
      k.bias = true;
      setActivation(k, act);
      checkCase<VT>(k, uint32_t(sh.hw * 10 + sh.k), rep, what);
    }
}

/// NaN, +Inf and -Inf inputs: ReLU keeps NaN (as PyTorch), clears -Inf,
/// keeps +Inf; the same inputs without activation and through ReLU6.
template <class VT> void nanAndInf(Report &rep, const char *what) {
  for (int act : {kiln_rt::ACT_RELU, kiln_rt::ACT_NONE, kiln_rt::ACT_RELU6})
    for (int width : {3, 14, 17, 40, 70})
      for (int s = 1; s <= 2; ++s) {
        Case k;
        k.c = 5;
        k.h = 7;
        k.w = width;
        k.kh = k.kw = 3;
        k.sh = k.sw = s;
        k.pt = k.pb = k.pl = k.pr = 1;
        k.bias = true;
        k.residual = width % 2 == 0;
        setActivation(k, act);
        checkCase<VT>(k, uint32_t(7 + width), rep, what, true);
      }
}

/// Geometries the staged path does not take, so that the input is read in
/// place (interior tiles and border columns) with every ISA's vectors: 9x9
/// and 7x11 kernels (81 and 77 taps: more than the staged path takes) and 3x3 /
/// 5x5 rows wider than any ISA's staging buffer (2048 floats). Returns the
/// cases run.
template <class VT> int directPath(Report &rep, const char *what) {
  std::mt19937 pick(3);
  int cases = 0;
  const Kernel kernels[] = {{9, 9}, {7, 11}, {3, 3}, {5, 5}};
  for (const Kernel &ker : kernels)
    for (const Stride &st : kStrides)
      for (const Pad &pd : kPads)
        for (int i = 0; i < 12; ++i) {
          Case k;
          k.kh = ker.kh;
          k.kw = ker.kw;
          k.sh = st.sh;
          k.sw = st.sw;
          k.pt = pd.t;
          k.pb = pd.b;
          k.pl = pd.l;
          k.pr = pd.r;
          k.dh = 1 + int(pick() % 2);
          k.dw = 1 + int(pick() % 2);
          const bool many_taps = ker.kh * ker.kw > 64;
          k.w = many_taps ? 1 + int(pick() % 80) : 4400 + int(pick() % 40);
          k.h = many_taps ? 1 + int(pick() % 12) : 1 + int(pick() % 4);
          k.c = many_taps ? 1 + int(pick() % 5) : 1 + int(pick() % 2);
          k.n = 1 + int(pick() % 2);
          k.bias = pick() % 2;
          k.residual = pick() % 2;
          setActivation(k, kActs[pick() % kNumActs]);
          const uint32_t seed = uint32_t(pick());
          if (!k.valid())
            continue;
          ++cases;
          checkCase<VT>(k, seed, rep, what);
          if (rep.failed >= 20)
            return cases;
        }
  return cases;
}

/// Convolutions depthwise_conv does not handle itself (groups != channels,
/// 3-D) give conv()'s results exactly.
inline void fallBackToConv(Report &rep, const char *what) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  ConvParams p{};
  p.n = 1;
  p.cin = p.cout = 4;
  const int in[3] = {3, 5, 6}, ks[3] = {1, 3, 3};
  for (int i = 0; i < 3; ++i) {
    p.in[i] = p.out[i] = in[i];
    p.k[i] = ks[i];
    p.stride[i] = p.dil[i] = 1;
    p.pad[i] = i ? 1 : 0;
  }
  p.ep = {kiln_rt::ACT_NONE, 0, 0};
  std::vector<float> x(4 * 90), w(4 * 2 * 9), y1(4 * 90), y2(4 * 90);
  for (float &v : x)
    v = u(rng);
  for (float &v : w)
    v = u(rng);
  for (int groups : {2, 4}) {
    p.groups = groups;
    kiln_rt::depthwise_conv(p, x.data(), w.data(), nullptr, nullptr, y1.data());
    kiln_rt::conv(p, x.data(), w.data(), nullptr, nullptr, y2.data());
    if (std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)))
      rep.fail(std::string(what) + ": groups " + std::to_string(groups) +
               " 3-D: not conv()'s result");
    else
      ++rep.passed;
  }
}

/// All the checks with primitives VT; returns the cases run.
template <class VT> int checkAll(Report &rep, const char *what) {
  int cases = sweep<VT>(narrowWidths(), 1, rep, what);
  cases += sweep<VT>(wideWidths(), 2, rep, what);
  everyActivation<VT>(rep, what);
  mobileNetShapes<VT>(rep, what);
  nanAndInf<VT>(rep, what);
  cases += directPath<VT>(rep, what);
  return cases;
}

} // namespace kiln_test::depthwise
