// The per-ISA checks of the vector math and the Vec-based kernels outside
// the convolutions (kernel_check.h): vexp() against std::exp over the whole
// float range (overflow, gradual underflow, inf, NaN), the vectorised
// activations of activate_into() against the scalar activate(), and the
// linear, broadcast binary and global average pooling kernels against
// double-precision loops, on every length around the vector width.
#include "kernel_check.h"

#include "kiln/runtime.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace kiln_test {
namespace {

typedef kiln_rt::uk::Vec VT;
constexpr int L = VT::kLanes;

/// Distance in units in the last place between two finite floats of the
/// same sign (or zero), subnormals included.
int64_t ulpDistance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if (ia < 0)
    ia = int32_t(0x80000000u - uint32_t(ia));
  if (ib < 0)
    ib = int32_t(0x80000000u - uint32_t(ib));
  return ia > ib ? int64_t(ia) - ib : int64_t(ib) - ia;
}

/// Whether `got` is `want` within `ulps`, with the same NaN and inf.
bool close(float got, float want, int64_t ulps) {
  if (std::isnan(want) || std::isnan(got))
    return std::isnan(want) && std::isnan(got);
  if (std::isinf(want) || std::isinf(got))
    return got == want;
  return ulpDistance(got, want) <= ulps;
}

std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

/// vexp() on the L values from x (a whole vector).
void vexpOf(const float *x, float *y) {
  VT::store(y, kiln_rt::vexp<VT>(VT::load(x)));
}

void checkExp(CheckReport &r) {
  std::vector<float> xs = {
      0.0f,        -0.0f,        1.0f,     -1.0f,      88.72283f, 88.7228394f,
      88.72284f,   89.0f,        100.0f,   -87.33654f, -87.5f,    -100.0f,
      -103.27893f, -103.9720f,   -104.0f,  -200.0f,    1e-30f,    -1e-30f,
      0.34657359f, -0.34657359f, INFINITY, -INFINITY,  NAN,       -NAN};
  // A sweep of the whole range, with steps that land between the
  // reduction's breakpoints.
  for (double x = -110.0; x <= 95.0; x += 0.0137)
    xs.push_back(float(x));
  for (double x = -1.0; x <= 1.0; x += 0.000731)
    xs.push_back(float(x));
  while (xs.size() % size_t(L))
    xs.push_back(0.5f);
  std::vector<float> ys(xs.size());
  for (size_t i = 0; i < xs.size(); i += size_t(L))
    vexpOf(&xs[i], &ys[i]);
  for (size_t i = 0; i < xs.size(); ++i) {
    const float want = float(std::exp(double(xs[i])));
    if (close(ys[i], want, 2))
      ++r.passed;
    else
      r.fail("vexp(" + num(xs[i]) + ") = " + num(ys[i]) + ", exp " + num(want));
  }
}

/// Values over every region of the activations: both signs, around their
/// breakpoints (+-3, 0, 6), large magnitudes, inf and NaN.
std::vector<float> activationInputs() {
  std::vector<float> v = {0.0f,  -0.0f,  3.0f,     -3.0f,     6.0f,    -6.0f,
                          3.5f,  -2.9f,  90.0f,    -90.0f,    -110.0f, 200.0f,
                          1e-7f, -1e-7f, INFINITY, -INFINITY, NAN};
  for (double x = -40.0; x <= 40.0; x += 0.173)
    v.push_back(float(x));
  return v;
}

void checkActivations(CheckReport &r) {
  const int acts[] = {
      kiln_rt::ACT_NONE,        kiln_rt::ACT_RELU, kiln_rt::ACT_RELU6,
      kiln_rt::ACT_SIGMOID,     kiln_rt::ACT_SILU, kiln_rt::ACT_HARDSWISH,
      kiln_rt::ACT_HARDSIGMOID, kiln_rt::ACT_TANH, kiln_rt::ACT_ELU};
  const std::vector<float> in = activationInputs();
  for (int act : acts) {
    const kiln_rt::Epilogue e = {act, 0.7f, 0.0f};
    // Every length around the vector width, in place and out of place,
    // from every offset of the inputs.
    for (int n = 0; n <= 3 * L + 1; ++n)
      for (size_t off = 0; off + size_t(n) <= in.size(); off += size_t(n) + 1) {
        std::vector<float> x(in.begin() + long(off),
                             in.begin() + long(off) + n);
        std::vector<float> y(size_t(n) + 1, 12345.0f), z = x;
        kiln_rt::activate_into(e, x.data(), y.data(), n);
        kiln_rt::activate_span(e, z.data(), n);
        bool ok = y[size_t(n)] == 12345.0f; // nothing past the end
        for (int i = 0; i < n; ++i) {
          const float want = kiln_rt::activate(e, x[size_t(i)]);
          // ReLU of -0 may be +0 or -0.
          const bool same = (want == 0.0f && y[size_t(i)] == 0.0f) ||
                            close(y[size_t(i)], want, 4);
          const bool inPlace =
              std::memcmp(&y[size_t(i)], &z[size_t(i)], 4) == 0;
          if (!same || !inPlace) {
            ok = false;
            r.fail("act " + std::to_string(act) + " n " + std::to_string(n) +
                   " x " + num(x[size_t(i)]) + ": " + num(y[size_t(i)]) +
                   " (in place " + num(z[size_t(i)]) + "), scalar " +
                   num(want));
            break;
          }
        }
        if (ok)
          ++r.passed;
      }
  }
}

void checkLinear(CheckReport &r) {
  Rng g{12345};
  for (int rows = 1; rows <= 3; ++rows)
    for (int in = 1; in <= 4 * L + 3; in += (in < 2 * L + 2 ? 1 : L + 1))
      for (int out = 1; out <= 9; ++out)
        for (int variant = 0; variant < 3; ++variant) {
          const bool bias = variant != 1, residual = variant == 2;
          const kiln_rt::Epilogue e = {
              variant == 2 ? kiln_rt::ACT_SILU : kiln_rt::ACT_NONE, 0, 0};
          std::vector<float> x(size_t(rows * in)), w(size_t(out * in));
          std::vector<float> b(static_cast<size_t>(out));
          std::vector<float> res(size_t(rows * out)), y(size_t(rows * out));
          for (float &v : x)
            v = g.uniform();
          for (float &v : w)
            v = g.uniform();
          for (float &v : b)
            v = g.uniform();
          for (float &v : res)
            v = g.uniform();
          const kiln_rt::LinearParams p = {rows, in, out, e};
          kiln_rt::linear(p, x.data(), w.data(), bias ? b.data() : nullptr,
                          residual ? res.data() : nullptr, y.data());
          bool ok = true;
          for (int i = 0; i < rows && ok; ++i)
            for (int o = 0; o < out && ok; ++o) {
              double s = bias ? b[size_t(o)] : 0.0, mag = std::fabs(s);
              for (int k = 0; k < in; ++k) {
                const double t =
                    double(x[size_t(i * in + k)]) * w[size_t(o * in + k)];
                s += t;
                mag += std::fabs(t);
              }
              if (residual) {
                s += res[size_t(i * out + o)];
                mag += std::fabs(res[size_t(i * out + o)]);
              }
              const float want = kiln_rt::activate(e, float(s));
              const double bound = double(in + 3) * 1.2e-7 * mag + 1e-30;
              if (std::fabs(double(y[size_t(i * out + o)]) - want) > bound) {
                ok = false;
                r.fail("linear rows " + std::to_string(rows) + " in " +
                       std::to_string(in) + " out " + std::to_string(out) +
                       " variant " + std::to_string(variant) + ": y[" +
                       std::to_string(i) + "][" + std::to_string(o) + "] " +
                       num(y[size_t(i * out + o)]) + ", want " + num(want));
              }
            }
          if (ok)
            ++r.passed;
        }
}

void checkBinary(CheckReport &r) {
  Rng g{12345};
  // [C, N] with each operand stepping 1 (a tensor row), 0 (a broadcast
  // scalar per row) or 2 (a strided view) along the row.
  const int steps[] = {1, 0, 2};
  for (int op = kiln_rt::BIN_ADD; op <= kiln_rt::BIN_DIV; ++op)
    for (int sa : steps)
      for (int sb : steps)
        for (int n = 1; n <= 2 * L + 3; n += 2) {
          const int C = 3;
          std::vector<float> a(size_t(C * n * 2 + 1)), b(a.size()),
              y(size_t(C * n));
          for (float &v : a)
            v = g.uniform();
          for (float &v : b)
            v = g.uniform() + 2.0f; // no division by ~0
          const int ra = sa == 0 ? 1 : n * sa, rb = sb == 0 ? 1 : n * sb;
          const kiln_rt::BinaryParams p = {op,
                                           op < 2 ? 0.5f : 1.0f,
                                           {1, 1, 1, 1, C, n},
                                           {0, 0, 0, 0, ra, sa},
                                           {0, 0, 0, 0, rb, sb}};
          kiln_rt::binary(p, a.data(), b.data(), y.data());
          bool ok = true;
          for (int c = 0; c < C && ok; ++c)
            for (int i = 0; i < n && ok; ++i) {
              const float av = a[size_t(c * ra + i * sa)],
                          bv = b[size_t(c * rb + i * sb)];
              const float want = op == 0   ? av + 0.5f * bv
                                 : op == 1 ? av - 0.5f * bv
                                 : op == 2 ? av * bv
                                           : av / bv;
              if (y[size_t(c * n + i)] != want) {
                ok = false;
                r.fail("binary op " + std::to_string(op) + " steps " +
                       std::to_string(sa) + "," + std::to_string(sb) + " n " +
                       std::to_string(n) + ": " + num(y[size_t(c * n + i)]) +
                       ", want " + num(want));
              }
            }
          if (ok)
            ++r.passed;
        }
}

void checkGlobalAvgPool(CheckReport &r) {
  Rng g{12345};
  for (int h = 1; h <= 9; ++h)
    for (int w = 1; w <= 2 * L + 3; w += 3) {
      const int planes = 5;
      std::vector<float> x(size_t(planes * h * w)), y(size_t(planes) + 1, 7.0f);
      for (float &v : x)
        v = g.uniform();
      x[0] = h == 9 && w == 1 ? NAN : x[0];
      const kiln_rt::AdaptivePoolParams p = {planes, {1, h, w}, {1, 1, 1}};
      kiln_rt::adaptive_avg_pool(p, x.data(), y.data());
      bool ok = y[size_t(planes)] == 7.0f;
      for (int c = 0; c < planes; ++c) {
        double s = 0, mag = 0;
        for (int i = 0; i < h * w; ++i) {
          s += x[size_t(c * h * w + i)];
          mag += std::fabs(x[size_t(c * h * w + i)]);
        }
        const double n = h * w;
        const double got = y[size_t(c)];
        if (std::isnan(s)
                ? !std::isnan(got)
                : std::fabs(got - s / n) > (n + 2) * 1.2e-7 * mag / n + 1e-30)
          ok = false;
      }
      if (ok)
        ++r.passed;
      else
        r.fail("adaptive_avg_pool global " + std::to_string(h) + "x" +
               std::to_string(w));
    }
}

} // namespace

void checkVecMath(CheckReport &r) {
  checkExp(r);
  checkActivations(r);
  checkLinear(r);
  checkBinary(r);
  checkGlobalAvgPool(r);
}

} // namespace kiln_test
