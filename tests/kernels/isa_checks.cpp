// The kernel checks of kernel_check.h, compiled once per micro-kernel ISA
// (tests/kernels/CMakeLists.txt gives each build its -m flags).
#include "kernel_check.h"

#include "ir/ops/conv_reference.h"
#include "kiln/runtime.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace kiln_test {

void CheckReport::fail(const std::string &what) {
  ++failed;
  if (failed <= 5)
    failures += what + "\n";
}

const char *kernelIsa() { return kiln_rt::uk::kIsa; }

namespace {

/// Runs KERNEL<MR> for the block height `mr`.
#define KILN_RUN_MR(KERNEL, mr, ...)                                           \
  switch (mr) {                                                                \
  case 4:                                                                      \
    kiln_rt::KERNEL<4>(__VA_ARGS__);                                           \
    break;                                                                     \
  case 6:                                                                      \
    kiln_rt::KERNEL<6>(__VA_ARGS__);                                           \
    break;                                                                     \
  case 8:                                                                      \
    kiln_rt::KERNEL<8>(__VA_ARGS__);                                           \
    break;                                                                     \
  case 12:                                                                     \
    kiln_rt::KERNEL<12>(__VA_ARGS__);                                          \
    break;                                                                     \
  default:                                                                     \
    kiln_rt::KERNEL<16>(__VA_ARGS__);                                          \
  }

/// A random conv-like case: geometry, data, epilogue, and the reference
/// result with the magnitude of its terms (for the rounding bound).
struct Case {
  kiln::ops::ConvGeom g;
  int cinG, coutG;
  int64_t K; ///< terms of one output
  kiln_rt::Epilogue ep;
  bool hasBias, hasResidual, nanCase;
  std::vector<float> x, w, b, res, ref, mag;
  const float *bias() const { return hasBias ? b.data() : nullptr; }
  const float *residual() const { return hasResidual ? res.data() : nullptr; }
  std::string describe() const {
    return "n " + std::to_string(g.n) + " groups " + std::to_string(g.groups) +
           " cin " + std::to_string(g.cin) + " cout " + std::to_string(g.cout) +
           " in " + std::to_string(g.in[0]) + "x" + std::to_string(g.in[1]) +
           "x" + std::to_string(g.in[2]) + " k " + std::to_string(g.k[0]) +
           "x" + std::to_string(g.k[1]) + "x" + std::to_string(g.k[2]) +
           " stride " + std::to_string(g.s[2]) + " pad " +
           std::to_string(g.p[2]) + " dil " + std::to_string(g.d[2]) + " act " +
           std::to_string(ep.act) + (hasBias ? " bias" : "") +
           (hasResidual ? " residual" : "") + (nanCase ? " nan" : "");
  }
};

/// Output size of a dim: a conv's, or (transposed) a transposed conv's with
/// output padding `extra` (< max(stride, dilation)).
int64_t outSize(bool transposed, int64_t in, int64_t span, int64_t s, int64_t p,
                int64_t extra) {
  return transposed ? (in - 1) * s - 2 * p + span + extra
                    : (in + p + extra - span) / s + 1;
}

/// The convolutions a case is drawn from: any conv, any transposed conv,
/// the 3x3 stride-1 dense 2-D convs of conv_winograd, dense 2-D convs
/// with more than 1 MiB of weights and few outputs (conv_gemm streams
/// their weights), or 1-D transposed convs with so many input channels and
/// positions that conv_transpose_phases splits them into several panels.
enum class Kind { Conv, Transposed, Winograd, Streaming, TransposedWide };

Case makeCase(Rng &rng, int index, Kind kind) {
  Case c;
  kiln::ops::ConvGeom &g = c.g;
  const bool wide = kind == Kind::TransposedWide;
  const bool transposed = kind == Kind::Transposed || wide,
             winograd = kind == Kind::Winograd;
  const bool streaming = kind == Kind::Streaming;
  const bool pointwise = streaming && rng.next() % 2 == 0;
  const int dims = winograd || streaming ? 2 : wide ? 1 : rng.range(1, 3);
  g.n = streaming ? 1 : rng.range(1, 2);
  g.groups = winograd || streaming ? 1 : rng.range(1, 3);
  c.cinG = streaming ? (pointwise ? rng.range(2100, 2200) : rng.range(240, 300))
           : wide    ? rng.range(200, 260)
                     : rng.range(1, transposed ? 20
                                    : winograd ? 24
                                               : 9);
  c.coutG = streaming ? rng.range(125, 140)
                      : rng.range(1, wide         ? 4
                                     : transposed ? 9
                                                  : 37);
  g.cin = g.groups * c.cinG;
  g.cout = g.groups * c.coutG;
  for (int i = 0; i < 3; ++i) {
    const bool used = i >= 3 - dims;
    g.k[i] = !used                   ? 1
             : winograd || streaming ? (pointwise ? 1 : 3)
                                     : rng.range(1, dims == 3 ? 3 : 5);
    g.s[i] = used && !winograd ? rng.range(1, streaming ? 2 : 3) : 1;
    g.p[i] = used && !pointwise ? rng.range(0, 2) : 0;
    g.d[i] = used && !winograd && !streaming ? rng.range(1, 2) : 1;
    const int64_t span = (g.k[i] - 1) * g.d[i] + 1;
    const int64_t extra = !used ? 0
                          : transposed
                              ? rng.range(0, int(std::max(g.s[i], g.d[i])) - 1)
                              : rng.range(0, 2);
    const int64_t maxIn = winograd    ? 23
                          : wide      ? 700
                          : streaming ? 9
                          : dims == 3 ? 7
                          : dims == 2 ? 13
                                      : 70;
    int64_t minIn = wide && used ? 400 : 1;
    while (outSize(transposed, std::max(minIn, int64_t(1)), span, g.s[i],
                   g.p[i], extra) < 1)
      ++minIn;
    g.in[i] = used ? rng.range(int(minIn), int(std::max(minIn, maxIn))) : 1;
    g.out[i] =
        used ? outSize(transposed, g.in[i], span, g.s[i], g.p[i], extra) : 1;
  }
  const int acts[] = {
      kiln_rt::ACT_NONE,       kiln_rt::ACT_RELU,        kiln_rt::ACT_RELU6,
      kiln_rt::ACT_LEAKY_RELU, kiln_rt::ACT_HARDTANH,    kiln_rt::ACT_SIGMOID,
      kiln_rt::ACT_TANH,       kiln_rt::ACT_ELU,         kiln_rt::ACT_SILU,
      kiln_rt::ACT_HARDSWISH,  kiln_rt::ACT_HARDSIGMOID, kiln_rt::ACT_GELU,
      kiln_rt::ACT_GELU_TANH,  kiln_rt::ACT_SOFTPLUS};
  c.ep = {acts[rng.next() % 14], 0.1f, 0.9f};
  if (c.ep.act == kiln_rt::ACT_HARDTANH)
    c.ep = {c.ep.act, -0.5f, 0.7f};
  if (c.ep.act == kiln_rt::ACT_SOFTPLUS)
    c.ep = {c.ep.act, 1.5f, 10.0f};
  c.hasBias = rng.next() % 4 != 0;
  c.hasResidual = rng.next() % 3 == 0;
  const int64_t kvol = g.k[0] * g.k[1] * g.k[2];
  // Terms of one output: a conv's Cin/groups x kvol; a transposed conv's
  // output gathers at most that many.
  c.K = c.cinG * kvol;
  const int64_t inPlane = g.in[0] * g.in[1] * g.in[2];
  const int64_t outPlane = g.out[0] * g.out[1] * g.out[2];
  c.x.resize(size_t(g.n * g.cin * inPlane));
  c.w.resize(size_t(transposed ? g.cin * c.coutG * kvol : g.cout * c.K));
  c.b.resize(size_t(g.cout));
  c.res.resize(size_t(g.n * g.cout * outPlane));
  for (auto *v : {&c.x, &c.w, &c.b, &c.res})
    for (float &e : *v)
      e = rng.uniform();
  c.nanCase = index % 17 == 5;
  if (c.nanCase)
    c.x[c.x.size() / 2] = NAN;
  c.ref.resize(c.res.size());
  c.mag.resize(c.res.size());
  std::vector<float> ax(c.x.size()), aw(c.w.size()), ab(c.b.size());
  for (size_t i = 0; i < c.x.size(); ++i)
    ax[i] = std::fabs(c.x[i]);
  for (size_t i = 0; i < c.w.size(); ++i)
    aw[i] = std::fabs(c.w[i]);
  for (size_t i = 0; i < c.b.size(); ++i)
    ab[i] = std::fabs(c.b[i]);
  auto reference =
      transposed ? kiln::ops::referenceConvTranspose : kiln::ops::referenceConv;
  reference(g, c.x.data(), c.w.data(), c.bias(), c.ref.data());
  reference(g, ax.data(), aw.data(), c.hasBias ? ab.data() : nullptr,
            c.mag.data());
  return c;
}

/// How much looser than direct convolution's rounding bound Winograd's
/// F(2x2, 3x3) and F(4x4, 3x3) may be (measured on AVX-512: the sweep
/// fails with 1 and 1, passes with 2 and 4).
constexpr double kWinograd2Factor = 2, kWinograd4Factor = 8;

/// Compares a kernel's output with the case's reference; counts the result.
/// Whether output element i may be NaN although the reference is not.
typedef bool (*NanSpread)(const Case &c, size_t i, int m);

void compare(const Case &c, const std::vector<float> &y,
             const std::string &what, CheckReport &rep, double factor = 1.0,
             NanSpread spread = nullptr, int m = 0) {
  int bad = 0;
  std::string first;
  for (size_t i = 0; i < y.size(); ++i) {
    float pre = c.ref[i] + (c.hasResidual ? c.res[i] : 0.0f);
    float want = kiln_rt::activate(c.ep, pre);
    // float32 accumulation of K + 2 terms: |error| <= (K + 2) eps sum|t|.
    double tol =
        factor * double(c.K + 2) * 1.2e-7 *
            (double(c.mag[i]) + (c.hasResidual ? std::fabs(c.res[i]) : 0)) *
            1.6 +
        1e-6 * std::fabs(double(want)) + 1e-30;
    bool ok = std::isnan(want) ? std::isnan(y[i])
              : std::isnan(y[i]) && spread
                  ? spread(c, i, m)
                  : std::fabs(double(y[i]) - want) <= tol;
    if (!ok && bad++ == 0)
      first = "element " + std::to_string(i) + ": got " + std::to_string(y[i]) +
              ", want " + std::to_string(want) + " (tolerance " +
              std::to_string(tol) + ")";
  }
  if (bad)
    rep.fail(what + ": " + std::to_string(bad) + " wrong, first " + first);
  else
    ++rep.passed;
}

/// The geometry fields shared by the kernels' parameter structs.
template <typename P> P geometryParams(const kiln::ops::ConvGeom &g) {
  P p{};
  p.n = int(g.n);
  p.cin = int(g.cin);
  p.cout = int(g.cout);
  p.groups = int(g.groups);
  for (int i = 0; i < 3; ++i) {
    p.in[i] = int(g.in[i]);
    p.out[i] = int(g.out[i]);
    p.k[i] = int(g.k[i]);
    p.stride[i] = int(g.s[i]);
    p.pad[i] = int(g.p[i]);
    p.dil[i] = int(g.d[i]);
  }
  return p;
}

void convGemmCase(Rng &rng, int index, CheckReport &rep,
                  Kind kind = Kind::Conv) {
  const Case c = makeCase(rng, index, kind);
  const kiln::ops::ConvGeom &g = c.g;
  const int kc = rng.next() % 3 == 0 ? rng.range(1, int(c.K)) : int(c.K);
  auto p = geometryParams<kiln_rt::ConvGemmParams>(g);
  // Scratch planned for a strip width other than this ISA's, at times.
  const int nrs[] = {4, 8, 12, 16, 32};
  p.kc = kc;
  p.nr = nrs[kind == Kind::Streaming ? 1 + rng.next() % 4 : rng.next() % 5];
  p.ep = c.ep;
  if ((kind == Kind::Streaming) != kiln_rt::conv_gemm_streams_weights(p)) {
    rep.fail("conv_gemm case " + std::to_string(index) +
             (kind == Kind::Streaming ? " should" : " should not") +
             " stream its weights: " + c.describe());
    return;
  }
  std::vector<float> scratch(size_t(kiln_rt::conv_gemm_scratch_floats(p)));
  for (int mr : kiln_rt::kBlockHeights) {
    p.mr = mr;
    // Packed as the pack-weights pass does: the padding rows are zeros.
    std::vector<float> packed(
        size_t(kiln_rt::packed_weight_size(int(g.groups), c.coutG, c.K, mr)),
        0.0f);
    kiln_rt::for_each_blocked(int(g.groups), c.coutG, c.K, mr,
                              [&](int64_t plain, int64_t at) {
                                packed[size_t(at)] = c.w[size_t(plain)];
                              });
    std::vector<float> y(c.ref.size(), 12345.0f);
    KILN_RUN_MR(conv_gemm, mr, p, c.x.data(), packed.data(), c.bias(),
                c.residual(), y.data(), scratch.data());
    compare(c, y,
            "conv_gemm case " + std::to_string(index) + " mr " +
                std::to_string(mr) + " kc " + std::to_string(kc) + " nr " +
                std::to_string(p.nr) + ": " + c.describe(),
            rep);
  }
}

/// Both transposed-conv kernels on one case: conv_transpose_gemm on
/// strip-packed weights, conv_transpose_phases on tap-blocked weights,
/// every block height.
void convTransposeCase(Rng &rng, int index, CheckReport &rep,
                       Kind kind = Kind::Transposed) {
  const Case c = makeCase(rng, index, kind);
  const kiln::ops::ConvGeom &g = c.g;
  const int64_t kvol = g.k[0] * g.k[1] * g.k[2], cols = c.coutG * kvol;
  auto p = geometryParams<kiln_rt::ConvTransposeGemmParams>(g);
  p.ep = c.ep;
  // Strip-packed as the pack-weights pass does.
  std::vector<float> packed(
      size_t(kiln_rt::strip_packed_size(int(g.groups), cols, c.cinG)), 0.0f);
  kiln_rt::for_each_strip_packed(int(g.groups), cols, c.cinG,
                                 [&](int64_t plain, int64_t at) {
                                   packed[size_t(at)] = c.w[size_t(plain)];
                                 });
  for (int mr : kiln_rt::kBlockHeights) {
    p.mr = mr;
    std::vector<float> scratch(
        size_t(kiln_rt::conv_transpose_gemm_scratch_floats(c.cinG, mr)));
    std::vector<float> y(c.ref.size(), 12345.0f);
    KILN_RUN_MR(conv_transpose_gemm, mr, p, c.x.data(), packed.data(), c.bias(),
                c.residual(), y.data(), scratch.data());
    compare(c, y,
            "conv_transpose_gemm case " + std::to_string(index) + " mr " +
                std::to_string(mr) + ": " + c.describe(),
            rep);
  }
  for (int mr : kiln_rt::kBlockHeights) {
    p.mr = mr;
    std::vector<float> blocked(
        size_t(int64_t(g.groups) * kiln_rt::packed_blocks(int(cols), mr) *
               c.cinG * mr),
        0.0f);
    kiln_rt::for_each_tap_blocked(int(g.groups), cols, c.cinG, mr,
                                  [&](int64_t plain, int64_t at) {
                                    blocked[size_t(at)] = c.w[size_t(plain)];
                                  });
    // Scratch as planned, poisoned: the kernel must write before it reads.
    std::vector<float> scratch(
        size_t(kiln_rt::conv_transpose_phases_scratch_floats(p)), NAN);
    std::vector<float> y(c.ref.size(), 12345.0f);
    KILN_RUN_MR(conv_transpose_phases, mr, p, c.x.data(), blocked.data(),
                c.bias(), c.residual(), y.data(), scratch.data());
    compare(c, y,
            "conv_transpose_phases case " + std::to_string(index) + " mr " +
                std::to_string(mr) + ": " + c.describe(),
            rep);
  }
}

/// Winograd mixes a whole (m+2) x (m+2) input patch into each m x m output
/// tile (0 x NaN is NaN): a NaN input makes every output of the tiles
/// whose patch holds it NaN, where direct convolution confines it to the
/// 3x3 windows that hold it. Output i may be NaN iff its tile's patch
/// holds the case's NaN input.
bool winogradNanSpread(const Case &c, size_t i, int m) {
  if (!c.nanCase)
    return false;
  const kiln::ops::ConvGeom &g = c.g;
  const int64_t at = int64_t(c.x.size() / 2);
  const int64_t iw = at % g.in[2], ih = at / g.in[2] % g.in[1],
                in = at / (g.in[2] * g.in[1] * g.cin);
  const int64_t o = int64_t(i);
  const int64_t ow = o % g.out[2], oh = o / g.out[2] % g.out[1],
                on = o / (g.out[2] * g.out[1] * g.cout);
  const int64_t h0 = oh / m * m - g.p[1], w0 = ow / m * m - g.p[2];
  return on == in && ih >= h0 && ih < h0 + m + 2 && iw >= w0 && iw < w0 + m + 2;
}

void convWinogradCase(Rng &rng, int index, CheckReport &rep) {
  const Case c = makeCase(rng, index, Kind::Winograd);
  const kiln::ops::ConvGeom &g = c.g;
  kiln_rt::ConvWinogradParams p{};
  p.n = int(g.n);
  p.cin = int(g.cin);
  p.cout = int(g.cout);
  for (int i = 0; i < 2; ++i) {
    p.in[i] = int(g.in[1 + i]);
    p.out[i] = int(g.out[1 + i]);
    p.pad[i] = int(g.p[1 + i]);
  }
  p.ep = c.ep;
  p.kc = rng.next() % 3 == 0 ? rng.range(1, p.cin) : p.cin;
  p.nt = 32 * rng.range(1, 3);
  for (int m : {2, 4}) {
    p.m = m;
    std::vector<float> scratch(size_t(kiln_rt::conv_winograd_scratch_floats(
        m, p.cin, p.cout, p.nt, p.out[1])));
    for (int mr : kiln_rt::kBlockHeights) {
      p.mr = mr;
      // Transformed and packed as the pack-weights pass does.
      std::vector<float> packed(
          size_t(kiln_rt::winograd_packed_size(m, p.cout, p.cin, mr)), 0.0f);
      if (m == 4)
        kiln_rt::winograd_pack_filters<4>(c.w.data(), p.cout, p.cin, mr,
                                          packed.data());
      else
        kiln_rt::winograd_pack_filters<2>(c.w.data(), p.cout, p.cin, mr,
                                          packed.data());
      std::vector<float> y(c.ref.size(), 12345.0f);
      KILN_RUN_MR(conv_winograd, mr, p, c.x.data(), packed.data(), c.bias(),
                  c.residual(), y.data(), scratch.data());
      // The transforms' coefficients (up to 5 in BT, 8 in AT for m = 4)
      // scale the rounding of each term: a looser bound than direct.
      compare(c, y,
              "conv_winograd case " + std::to_string(index) + " m " +
                  std::to_string(m) + " mr " + std::to_string(mr) + " kc " +
                  std::to_string(p.kc) + " nt " + std::to_string(p.nt) + ": " +
                  c.describe(),
              rep, m == 4 ? kWinograd4Factor : kWinograd2Factor,
              winogradNanSpread, m);
    }
  }
}

} // namespace

void checkConvWinograd(CheckReport &r) {
  Rng rng{20261209};
  for (int i = 0; i < 200; ++i)
    convWinogradCase(rng, i, r);
}

void checkConvGemm(CheckReport &r) {
  Rng rng{20261207};
  for (int i = 0; i < 300; ++i)
    convGemmCase(rng, i, r);
  for (int i = 0; i < 4; ++i)
    convGemmCase(rng, 300 + i, r, Kind::Streaming);
}

void checkConvTranspose(CheckReport &r) {
  Rng rng{20261208};
  for (int i = 0; i < 300; ++i)
    convTransposeCase(rng, i, r);
  for (int i = 0; i < 4; ++i)
    convTransposeCase(rng, 300 + i, r, Kind::TransposedWide);
}

} // namespace kiln_test
