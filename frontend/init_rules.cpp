// Initialisation rules (`initializers`): parsing with located errors, and
// PyTorch 1.13's torch.nn.init schemes over a deterministic random stream.
#include "frontend/init_rules.h"

#include "support/error.h"
#include "support/strings.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

namespace kiln {

namespace {

using Scheme = InitRule::Scheme;

struct SchemeInfo {
  Scheme scheme;
  const char *name;
  std::vector<std::string> args; ///< keys besides "scheme"
};

const std::vector<SchemeInfo> &schemeTable() {
  static const std::vector<SchemeInfo> table = {
      {Scheme::Uniform, "uniform", {"a", "b"}},
      {Scheme::Normal, "normal", {"mean", "std"}},
      {Scheme::Constant, "constant", {"val"}},
      {Scheme::Zeros, "zeros", {}},
      {Scheme::Ones, "ones", {}},
      {Scheme::XavierUniform, "xavier_uniform", {"gain"}},
      {Scheme::XavierNormal, "xavier_normal", {"gain"}},
      {Scheme::KaimingUniform,
       "kaiming_uniform",
       {"a", "mode", "nonlinearity"}},
      {Scheme::KaimingNormal, "kaiming_normal", {"a", "mode", "nonlinearity"}},
  };
  return table;
}

const SchemeInfo &infoOf(Scheme s) {
  for (const SchemeInfo &i : schemeTable())
    if (i.scheme == s)
      return i;
  KILN_ASSERT(false, "unknown init scheme");
  return schemeTable()[0];
}

/// The names calculate_gain accepts, in PyTorch's order.
const std::vector<std::string> &nonlinearities() {
  static const std::vector<std::string> names = {"linear",
                                                 "conv1d",
                                                 "conv2d",
                                                 "conv3d",
                                                 "conv_transpose1d",
                                                 "conv_transpose2d",
                                                 "conv_transpose3d",
                                                 "sigmoid",
                                                 "tanh",
                                                 "relu",
                                                 "leaky_relu",
                                                 "selu"};
  return names;
}

bool contains(const std::vector<std::string> &v, const std::string &s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string lower(std::string s) {
  for (char &c : s)
    c = char(std::tolower((unsigned char)c));
  return s;
}

/// `"a", "b"` or `no arguments`.
std::string takes(const SchemeInfo &info) {
  return info.args.empty() ? std::string("no arguments besides \"scheme\"")
                           : joinQuoted(info.args);
}

/// A number that float32 can hold (PyTorch refuses the others when filling a
/// float tensor: "from is out of bounds for float", "cannot be converted to
/// type float without overflow").
double floatNumber(const JsonNode &n) {
  double v = n.asNumber();
  if (!(std::fabs(v) <= double(std::numeric_limits<float>::max())))
    n.error("expected a number within float32 range (magnitude <= "
            "3.4028235e38), found " +
            n.describe());
  return v;
}

/// A number for messages (`2`, `0.5`, `1e+30`).
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

/// splitmix64: expands a 64-bit key into a well-mixed sequence.
struct SplitMix64 {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

/// xoshiro256** (Blackman and Vigna), seeded by splitmix64.
class Xoshiro256 {
public:
  explicit Xoshiro256(uint64_t key) {
    SplitMix64 sm{key};
    for (uint64_t &w : s_)
      w = sm.next();
  }
  uint64_t next() {
    uint64_t result = rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
  /// Uniform in (0, 1] (safe for log).
  double uniformOpen0() { return double((next() >> 11) + 1) * 0x1.0p-53; }

private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

/// The stream key of (seed, name): FNV-1a of the name, combined with the
/// seed after mixing both, so that neither a seed nor a name change can be
/// undone by the other in any simple way.
uint64_t streamKey(uint64_t seed, const std::string &name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name)
    h = (h ^ c) * 1099511628211ull;
  SplitMix64 a{seed}, b{h};
  return a.next() ^ (b.next() * 0xD1342543DE82EF95ull);
}

void fillUniform(Xoshiro256 &rng, double lo, double hi,
                 std::vector<float> &out) {
  for (float &v : out)
    v = float(lo + (hi - lo) * rng.uniform());
}

/// Box-Muller in double: each pair of uniforms gives two normals.
void fillNormal(Xoshiro256 &rng, double mean, double stddev,
                std::vector<float> &out) {
  const double twoPi = 6.283185307179586476925286766559;
  size_t n = out.size();
  for (size_t i = 0; i < n; i += 2) {
    double r = std::sqrt(-2.0 * std::log(rng.uniformOpen0()));
    double theta = twoPi * rng.uniform();
    out[i] = float(mean + stddev * r * std::cos(theta));
    if (i + 1 < n)
      out[i + 1] = float(mean + stddev * r * std::sin(theta));
  }
}

} // namespace

const char *schemeName(InitRule::Scheme scheme) { return infoOf(scheme).name; }

InitRule parseInitRule(const JsonNode &node) {
  node.expectObject();
  std::vector<std::string> schemeNames;
  for (const SchemeInfo &i : schemeTable())
    schemeNames.push_back(i.name);
  auto keyPath = [&](const std::string &k) {
    return node.path().empty() ? k : node.path() + "." + k;
  };
  if (!node.has("scheme"))
    throw Error(node.file(), keyPath("scheme"),
                "missing required key \"scheme\" (one of " +
                    joinQuoted(schemeNames) + ")");
  JsonNode schemeNode = node.at("scheme");
  std::string schemeStr = schemeNode.asString();
  const SchemeInfo *info = nullptr;
  for (const SchemeInfo &i : schemeTable())
    if (schemeStr == i.name)
      info = &i;
  if (!info)
    schemeNode.error("unknown init scheme \"" + schemeStr + "\"" +
                     didYouMean(schemeStr, schemeNames) + "; expected one of " +
                     joinQuoted(schemeNames));

  // Keys: "scheme" and the scheme's arguments.
  std::vector<std::string> valid = {"scheme"};
  valid.insert(valid.end(), info->args.begin(), info->args.end());
  std::vector<std::string> anyArg;
  for (const SchemeInfo &i : schemeTable())
    for (const std::string &a : i.args)
      if (!contains(anyArg, a))
        anyArg.push_back(a);
  for (const std::string &k : node.keys()) {
    if (contains(valid, k))
      continue;
    if (contains(anyArg, k))
      throw Error(node.file(), keyPath(k),
                  std::string(info->name) + " takes no argument \"" + k +
                      "\"; it takes " + takes(*info));
    throw Error(node.file(), keyPath(k),
                "unknown key \"" + k + "\"" + didYouMean(k, valid) + "; " +
                    info->name + " takes " + takes(*info));
  }

  InitRule r;
  r.scheme = info->scheme;
  switch (r.scheme) {
  case Scheme::Uniform:
    if (node.has("a"))
      r.a = floatNumber(node.at("a"));
    if (node.has("b"))
      r.b = floatNumber(node.at("b"));
    if (r.a > r.b)
      node.at(node.has("b") ? "b" : "a")
          .error("uniform needs a <= b, found a = " + number(r.a) +
                 " and b = " + number(r.b));
    break;
  case Scheme::Normal:
    if (node.has("mean"))
      r.mean = floatNumber(node.at("mean"));
    if (node.has("std")) {
      r.std = floatNumber(node.at("std"));
      if (r.std < 0)
        node.at("std").error("std must be >= 0, found " +
                             node.at("std").describe());
    }
    break;
  case Scheme::Constant:
    if (!node.has("val"))
      throw Error(node.file(), keyPath("val"),
                  "missing required key \"val\" (constant takes \"val\")");
    r.val = floatNumber(node.at("val"));
    break;
  case Scheme::Zeros:
  case Scheme::Ones:
    break;
  case Scheme::XavierUniform:
  case Scheme::XavierNormal:
    if (node.has("gain")) {
      r.gain = node.at("gain").asNumber();
      if (r.gain < 0)
        node.at("gain").error("gain must be >= 0, found " +
                              node.at("gain").describe());
    }
    break;
  case Scheme::KaimingUniform:
  case Scheme::KaimingNormal:
    if (node.has("a"))
      r.a = node.at("a").asNumber();
    if (node.has("mode")) {
      JsonNode m = node.at("mode");
      std::string mode = lower(m.asString());
      if (mode != "fan_in" && mode != "fan_out")
        m.error("mode must be \"fan_in\" or \"fan_out\", found " +
                m.describe() + didYouMean(mode, {"fan_in", "fan_out"}));
      r.fanOut = mode == "fan_out";
    }
    if (node.has("nonlinearity")) {
      JsonNode nl = node.at("nonlinearity");
      r.nonlinearity = nl.asString();
      if (!contains(nonlinearities(), r.nonlinearity))
        nl.error("unknown nonlinearity \"" + r.nonlinearity + "\"" +
                 didYouMean(r.nonlinearity, nonlinearities()) +
                 "; PyTorch's calculate_gain knows " +
                 joinQuoted(nonlinearities()));
    }
    break;
  }
  return r;
}

std::map<std::string, InitRule>
parseInitializers(const JsonNode &node,
                  const std::vector<std::string> &allowed) {
  node.expectObject();
  std::map<std::string, InitRule> rules;
  for (const std::string &k : node.keys()) {
    if (!contains(allowed, k)) {
      std::string p = node.path().empty() ? k : node.path() + "." + k;
      if (allowed.empty())
        throw Error(node.file(), p,
                    "no parameter \"" + k +
                        "\": this module has no parameters to initialise");
      throw Error(node.file(), p,
                  "no parameter \"" + k + "\"" + didYouMean(k, allowed) +
                      "; the parameters are " + joinQuoted(allowed));
    }
    rules[k] = parseInitRule(node.at(k));
  }
  return rules;
}

std::pair<int64_t, int64_t> fans(const Shape &shape) {
  if (shape.size() < 2)
    throw Error("", "",
                "fan in and fan out can not be computed for a tensor with "
                "fewer than 2 dimensions, found shape " +
                    shapeToString(shape));
  int64_t receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i)
    if (__builtin_mul_overflow(receptive, shape[i], &receptive))
      throw Error("", "",
                  "fans of shape " + shapeToString(shape) +
                      " overflow 64 bits");
  int64_t fanIn = 0, fanOut = 0;
  if (__builtin_mul_overflow(shape[1], receptive, &fanIn) ||
      __builtin_mul_overflow(shape[0], receptive, &fanOut))
    throw Error("", "",
                "fans of shape " + shapeToString(shape) + " overflow 64 bits");
  return {fanIn, fanOut};
}

double calculateGain(const std::string &nonlinearity,
                     std::optional<double> param) {
  const auto &names = nonlinearities();
  // linear, conv*, conv_transpose*, sigmoid.
  for (size_t i = 0; i < 8; ++i)
    if (nonlinearity == names[i])
      return 1.0;
  if (nonlinearity == "tanh")
    return 5.0 / 3;
  if (nonlinearity == "relu")
    return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    double slope = param ? *param : 0.01;
    double d = 1 + slope * slope;
    // Python overflows for huge slopes; the limit is the same formula.
    return std::isfinite(d) ? std::sqrt(2.0 / d)
                            : std::sqrt(2.0) / std::hypot(1.0, slope);
  }
  if (nonlinearity == "selu")
    return 3.0 / 4;
  throw Error("", "",
              "unsupported nonlinearity \"" + nonlinearity + "\"" +
                  didYouMean(nonlinearity, names) + "; expected one of " +
                  joinQuoted(names));
}

void fillByRule(const InitRule &rule, const Shape &shape, uint64_t seed,
                const std::string &name, const JsonNode &where,
                std::vector<float> &out) {
  for (int64_t d : shape)
    KILN_ASSERT(d >= 0, "negative dimension in parameter shape");
  int64_t n = numElements(shape);
  if (n > kMaxElements)
    where.error("parameter \"" + name + "\" of shape " + shapeToString(shape) +
                " has more than 2^31 - 1 elements");
  out.assign(size_t(n), 0.0f);
  Xoshiro256 rng(streamKey(seed, name));
  const char *scheme = schemeName(rule.scheme);
  bool kaiming = rule.scheme == Scheme::KaimingUniform ||
                 rule.scheme == Scheme::KaimingNormal;
  bool xavier = rule.scheme == Scheme::XavierUniform ||
                rule.scheme == Scheme::XavierNormal;
  // PyTorch's kaiming_* returns before computing fans for empty tensors.
  if (kaiming && std::find(shape.begin(), shape.end(), 0) != shape.end())
    return;
  std::pair<int64_t, int64_t> fanInOut{0, 0};
  if (kaiming || xavier) {
    if (shape.size() < 2)
      where.error(std::string(scheme) +
                  " needs a tensor of at least 2 "
                  "dimensions (PyTorch cannot compute "
                  "fan in and fan out of fewer), but "
                  "parameter \"" +
                  name + "\" has shape " + shapeToString(shape));
    fanInOut = fans(shape);
  }
  if (n == 0)
    return;
  auto checkScale = [&](double v, const char *what) {
    if (!(v <= double(std::numeric_limits<float>::max())))
      where.error(std::string(scheme) + " " + what + " for parameter \"" +
                  name + "\" is beyond float32 range");
  };
  switch (rule.scheme) {
  case Scheme::Uniform:
    fillUniform(rng, rule.a, rule.b, out);
    break;
  case Scheme::Normal:
    fillNormal(rng, rule.mean, rule.std, out);
    break;
  case Scheme::Constant:
    std::fill(out.begin(), out.end(), float(rule.val));
    break;
  case Scheme::Zeros:
    std::fill(out.begin(), out.end(), 0.0f);
    break;
  case Scheme::Ones:
    std::fill(out.begin(), out.end(), 1.0f);
    break;
  case Scheme::XavierUniform:
  case Scheme::XavierNormal: {
    double sd =
        rule.gain * std::sqrt(2.0 / double(fanInOut.first + fanInOut.second));
    if (rule.scheme == Scheme::XavierUniform) {
      double bound = std::sqrt(3.0) * sd;
      checkScale(bound, "bound");
      fillUniform(rng, -bound, bound, out);
    } else {
      checkScale(sd, "std");
      fillNormal(rng, 0.0, sd, out);
    }
    break;
  }
  case Scheme::KaimingUniform:
  case Scheme::KaimingNormal: {
    int64_t fan = rule.fanOut ? fanInOut.second : fanInOut.first;
    double gain = calculateGain(rule.nonlinearity, rule.a);
    double sd = gain / std::sqrt(double(fan));
    if (rule.scheme == Scheme::KaimingUniform)
      fillUniform(rng, -std::sqrt(3.0) * sd, std::sqrt(3.0) * sd, out);
    else
      fillNormal(rng, 0.0, sd, out);
    break;
  }
  }
}

} // namespace kiln
