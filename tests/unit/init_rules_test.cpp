// Unit tests of the initialisation rules (frontend/init_rules.h): the
// distributions and bounds of every torch.nn.init scheme on large tensors,
// PyTorch's fans and gains, determinism of the streams, and the located
// errors of parsing `initializers` rules.
#include "frontend/init_rules.h"

#include "frontend/json_file.h"
#include "support/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

using kiln::InitRule;
using kiln::Json;
using kiln::JsonNode;
using Scheme = InitRule::Scheme;

const char *const kFile = "model.json";
const char *const kRulePath = "model.modules.fc.initializers.weight";
const char *const kInitPath = "model.modules.fc.initializers";

/// A parsed JSON text and the file name its nodes refer to (JsonNode keeps
/// pointers to both).
struct Doc {
  std::string file = kFile;
  Json json;
  explicit Doc(const std::string &text)
      : json(kiln::parseJsonText(text, file)) {}
  JsonNode node(const std::string &path) const {
    return JsonNode(json, path, file);
  }
};

InitRule rule(const std::string &text) {
  Doc d(text);
  return kiln::parseInitRule(d.node(kRulePath));
}

/// The error a parse of `text` as a rule throws (fails the test if none).
struct Caught {
  bool thrown = false;
  std::string file, location, message;
};

template <typename F> Caught catchError(F &&f) {
  Caught c;
  try {
    f();
  } catch (const kiln::Error &e) {
    c.thrown = true;
    c.file = e.file();
    c.location = e.location();
    c.message = e.message();
  }
  return c;
}

Caught ruleError(const std::string &text) {
  Doc d(text);
  Caught c = catchError([&] { kiln::parseInitRule(d.node(kRulePath)); });
  EXPECT_TRUE(c.thrown) << "no error for " << text;
  EXPECT_EQ(c.file, kFile);
  return c;
}

Caught initializersError(const std::string &text,
                         const std::vector<std::string> &allowed) {
  Doc d(text);
  Caught c =
      catchError([&] { kiln::parseInitializers(d.node(kInitPath), allowed); });
  EXPECT_TRUE(c.thrown) << "no error for " << text;
  EXPECT_EQ(c.file, kFile);
  return c;
}

std::string at(const std::string &key) {
  return std::string(kRulePath) + "." + key;
}

/// Fills a tensor of `shape` by the rule in `text` (seed 7, a fixed name).
std::vector<float> fill(const std::string &text, const kiln::Shape &shape,
                        uint64_t seed = 7,
                        const std::string &name = "features.conv1.weight") {
  Doc d(text);
  InitRule r = kiln::parseInitRule(d.node(kRulePath));
  std::vector<float> out;
  kiln::fillByRule(r, shape, seed, name, d.node("model.modules.features"), out);
  EXPECT_EQ(out.size(), size_t(kiln::numElements(shape)));
  return out;
}

struct Moments {
  double mean = 0, var = 0, min = 0, max = 0;
  double absMax = 0;
};

Moments moments(const std::vector<float> &v) {
  Moments m;
  double s = 0;
  for (float x : v)
    s += x;
  m.mean = s / double(v.size());
  double ss = 0;
  for (float x : v)
    ss += (x - m.mean) * (x - m.mean);
  m.var = ss / double(v.size() - 1);
  m.min = *std::min_element(v.begin(), v.end());
  m.max = *std::max_element(v.begin(), v.end());
  m.absMax = std::max(-m.min, m.max);
  return m;
}

/// Checks a U(lo, hi) sample: inside the bounds, reaching both ends, mean
/// and variance within 5 standard errors.
void expectUniform(const std::vector<float> &v, double lo, double hi) {
  double n = double(v.size());
  Moments m = moments(v);
  EXPECT_GE(m.min, float(lo));
  EXPECT_LE(m.max, float(hi));
  EXPECT_LT(m.min, lo + 0.002 * (hi - lo));
  EXPECT_GT(m.max, hi - 0.002 * (hi - lo));
  double w = hi - lo, var = w * w / 12;
  EXPECT_NEAR(m.mean, (lo + hi) / 2, 5 * std::sqrt(var / n));
  // Var of the sample variance: (mu4 - sigma^4) / n, mu4 = w^4 / 80.
  EXPECT_NEAR(m.var, var,
              5 * w * w * std::sqrt(1.0 / 80 - 1.0 / 144) / std::sqrt(n));
}

/// Checks a N(mean, sd^2) sample: mean, variance within 5 standard errors,
/// and the share within one sd (0.6827; a uniform would give 0.577).
void expectNormal(const std::vector<float> &v, double mean, double sd) {
  double n = double(v.size());
  Moments m = moments(v);
  EXPECT_NEAR(m.mean, mean, 5 * sd / std::sqrt(n));
  EXPECT_NEAR(m.var, sd * sd, 5 * sd * sd * std::sqrt(2.0 / n));
  size_t inside = 0;
  for (float x : v)
    inside += std::fabs(x - mean) < sd;
  double p = 0.682689492137086;
  EXPECT_NEAR(double(inside) / n, p, 5 * std::sqrt(p * (1 - p) / n));
  // Tails exist (beyond 4 sd: about 6e-5 of the values).
  EXPECT_GT(m.absMax, mean + 4 * sd);
}

// ---------------------------------------------------------------------------
// Distributions.

TEST(InitRules, UniformMoments) {
  auto v = fill(R"({"scheme": "uniform", "a": -2, "b": 3})", {400, 500});
  expectUniform(v, -2, 3);
}

TEST(InitRules, UniformDefaultsToZeroOne) {
  InitRule r = rule(R"({"scheme": "uniform"})");
  EXPECT_EQ(r.scheme, Scheme::Uniform);
  EXPECT_EQ(r.a, 0);
  EXPECT_EQ(r.b, 1);
  expectUniform(fill(R"({"scheme": "uniform"})", {200000}), 0, 1);
}

TEST(InitRules, UniformEqualBoundsIsConstant) {
  auto v = fill(R"({"scheme": "uniform", "a": 0.25, "b": 0.25})", {1000});
  for (float x : v)
    ASSERT_EQ(x, 0.25f);
}

TEST(InitRules, NormalMoments) {
  auto v = fill(R"({"scheme": "normal", "mean": 1.5, "std": 0.5})", {200000});
  expectNormal(v, 1.5, 0.5);
}

TEST(InitRules, NormalDefaults) {
  InitRule r = rule(R"({"scheme": "normal"})");
  EXPECT_EQ(r.mean, 0);
  EXPECT_EQ(r.std, 1);
  // An odd element count uses half of the last Box-Muller pair.
  expectNormal(fill(R"({"scheme": "normal"})", {200001}), 0, 1);
}

TEST(InitRules, NormalZeroStdIsMean) {
  auto v = fill(R"({"scheme": "normal", "mean": -3, "std": 0})", {100});
  for (float x : v)
    ASSERT_EQ(x, -3.0f);
}

TEST(InitRules, ConstantZerosOnesExact) {
  for (float x : fill(R"({"scheme": "constant", "val": 0.1})", {3, 5, 7}))
    ASSERT_EQ(x, 0.1f);
  for (float x : fill(R"({"scheme": "zeros"})", {64, 3, 3, 3}))
    ASSERT_EQ(x, 0.0f);
  for (float x : fill(R"({"scheme": "ones"})", {64}))
    ASSERT_EQ(x, 1.0f);
  // Zeros and ones need no fans: 0-d tensors are fine.
  EXPECT_EQ(fill(R"({"scheme": "ones"})", {}), std::vector<float>{1.0f});
}

TEST(InitRules, XavierUniformBoundAndVariance) {
  // bound = gain * sqrt(6 / (fan_in + fan_out)), fans (500, 400).
  auto v = fill(R"({"scheme": "xavier_uniform", "gain": 2})", {400, 500});
  double bound = 2 * std::sqrt(6.0 / 900);
  expectUniform(v, -bound, bound);
  EXPECT_NEAR(moments(v).var, bound * bound / 3, 0.02 * bound * bound / 3);
}

TEST(InitRules, XavierUniformConvFans) {
  // [64, 32, 3, 3]: fan_in 288, fan_out 576, default gain 1.
  auto v = fill(R"({"scheme": "xavier_uniform"})", {64, 32, 3, 3});
  double bound = std::sqrt(6.0 / (288 + 576));
  expectUniform(v, -bound, bound);
}

TEST(InitRules, XavierNormalStd) {
  // std = gain * sqrt(2 / (fan_in + fan_out)), fans (500, 400).
  auto v = fill(R"({"scheme": "xavier_normal"})", {400, 500});
  expectNormal(v, 0, std::sqrt(2.0 / 900));
  auto g = fill(R"({"scheme": "xavier_normal", "gain": 0.5})", {400, 500});
  expectNormal(g, 0, 0.5 * std::sqrt(2.0 / 900));
}

TEST(InitRules, KaimingUniformConvWeight) {
  // Defaults a=0, fan_in, leaky_relu: gain sqrt(2/(1+0)) = sqrt(2);
  // fan_in = 32*3*3 = 288; bound = sqrt(3) * gain / sqrt(fan_in).
  auto v = fill(R"({"scheme": "kaiming_uniform"})", {64, 32, 3, 3});
  double bound = std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(288.0);
  Moments m = moments(v);
  EXPECT_LE(m.absMax, float(bound));
  EXPECT_GT(m.absMax, 0.99 * bound);
  // Var of the sample variance of U(-b, b): b^4 (1/5 - 1/9) / n.
  double n = double(v.size());
  EXPECT_NEAR(m.var, bound * bound / 3,
              5 * bound * bound * std::sqrt(1.0 / 5 - 1.0 / 9) / std::sqrt(n));
  expectUniform(v, -bound, bound);
}

TEST(InitRules, KaimingUniformFanOutRelu) {
  // fan_out = 64*3*3 = 576, relu gain sqrt(2).
  auto v = fill(
      R"({"scheme": "kaiming_uniform", "mode": "fan_out", "nonlinearity": "relu"})",
      {64, 32, 3, 3});
  expectUniform(v, -std::sqrt(6.0 / 576), std::sqrt(6.0 / 576));
}

TEST(InitRules, KaimingUniformPyTorchConvDefault) {
  // PyTorch's Conv/Linear default kaiming_uniform_(a=sqrt(5)) is
  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  auto v = fill(R"({"scheme": "kaiming_uniform", "a": 2.23606797749979})",
                {400, 500});
  expectUniform(v, -1 / std::sqrt(500.0), 1 / std::sqrt(500.0));
}

TEST(InitRules, KaimingNormalStd) {
  // fan_in of [256, 128, 3, 3] = 1152, fan_out = 2304.
  auto v = fill(R"({"scheme": "kaiming_normal"})", {256, 128, 3, 3});
  expectNormal(v, 0, std::sqrt(2.0) / std::sqrt(1152.0));
  auto o = fill(
      R"({"scheme": "kaiming_normal", "mode": "fan_out", "nonlinearity": "tanh"})",
      {256, 128, 3, 3});
  expectNormal(o, 0, (5.0 / 3) / std::sqrt(2304.0));
  auto l = fill(R"({"scheme": "kaiming_normal", "a": 0.2})", {256, 128, 3, 3});
  expectNormal(l, 0, std::sqrt(2.0 / 1.04) / std::sqrt(1152.0));
}

// ---------------------------------------------------------------------------
// Fans and gains.

TEST(InitRules, FansLinearAndConv) {
  using P = std::pair<int64_t, int64_t>;
  // Linear weight [out, in].
  EXPECT_EQ(kiln::fans({10, 20}), (P{20, 10}));
  // Conv1d weight [out, in/g, k].
  EXPECT_EQ(kiln::fans({16, 4, 5}), (P{20, 80}));
  // Conv2d 32 -> 64, groups 4, k 3: weight [64, 8, 3, 3].
  EXPECT_EQ(kiln::fans({64, 8, 3, 3}), (P{72, 576}));
  // Conv3d [4, 2, 3, 2, 5].
  EXPECT_EQ(kiln::fans({4, 2, 3, 2, 5}), (P{60, 120}));
  // ConvTranspose2d 8 -> 12, groups 3: weight [in, out/g, k, k] = [8, 4, 3,
  // 3]; PyTorch reads dim 1 as fan_in regardless.
  EXPECT_EQ(kiln::fans({8, 4, 3, 3}), (P{36, 72}));
}

TEST(InitRules, FansNeedTwoDims) {
  EXPECT_TRUE(catchError([] { kiln::fans({5}); }).thrown);
  EXPECT_TRUE(catchError([] { kiln::fans({}); }).thrown);
  Caught c = catchError([] { kiln::fans({7}); });
  EXPECT_NE(c.message.find("fewer than 2 dimensions"), std::string::npos)
      << c.message;
}

TEST(InitRules, FanOutModeUsesFanOut) {
  InitRule in = rule(R"({"scheme": "kaiming_normal"})");
  InitRule out = rule(R"({"scheme": "kaiming_normal", "mode": "fan_out"})");
  EXPECT_FALSE(in.fanOut);
  EXPECT_TRUE(out.fanOut);
  // PyTorch lower-cases the mode.
  EXPECT_TRUE(
      rule(R"({"scheme": "kaiming_normal", "mode": "FAN_OUT"})").fanOut);
  EXPECT_FALSE(
      rule(R"({"scheme": "kaiming_normal", "mode": "Fan_In"})").fanOut);
}

TEST(InitRules, CalculateGainMatchesTorch) {
  // Values printed by torch.nn.init.calculate_gain (PyTorch 1.13).
  for (const char *n :
       {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
        "conv_transpose2d", "conv_transpose3d", "sigmoid"})
    EXPECT_EQ(kiln::calculateGain(n, std::nullopt), 1.0) << n;
  EXPECT_DOUBLE_EQ(kiln::calculateGain("tanh", std::nullopt),
                   1.6666666666666667);
  EXPECT_DOUBLE_EQ(kiln::calculateGain("tanh", 3.0), 1.6666666666666667);
  EXPECT_DOUBLE_EQ(kiln::calculateGain("relu", std::nullopt),
                   1.4142135623730951);
  EXPECT_DOUBLE_EQ(kiln::calculateGain("relu", 7.0), 1.4142135623730951);
  EXPECT_DOUBLE_EQ(kiln::calculateGain("leaky_relu", std::nullopt),
                   1.4141428569978354);
  EXPECT_DOUBLE_EQ(kiln::calculateGain("leaky_relu", 0.0), 1.4142135623730951);
  EXPECT_DOUBLE_EQ(kiln::calculateGain("leaky_relu", 0.2), 1.3867504905630728);
  EXPECT_DOUBLE_EQ(kiln::calculateGain("leaky_relu", 2.23606797749979),
                   0.5773502691896257);
  EXPECT_DOUBLE_EQ(kiln::calculateGain("selu", std::nullopt), 0.75);
  // Huge slopes: the formula's limit, no overflow to 0/0.
  double g = kiln::calculateGain("leaky_relu", 1e200);
  EXPECT_NEAR(g, std::sqrt(2.0) * 1e-200, 1e-210);
}

TEST(InitRules, CalculateGainRejectsUnknown) {
  // PyTorch: ValueError("Unsupported nonlinearity identity").
  for (const char *n : {"identity", "Linear", "softmax", ""}) {
    Caught c = catchError([&] { kiln::calculateGain(n, std::nullopt); });
    EXPECT_TRUE(c.thrown) << n;
  }
  Caught c = catchError([] { kiln::calculateGain("rlu", std::nullopt); });
  EXPECT_NE(c.message.find("did you mean \"relu\""), std::string::npos)
      << c.message;
}

// ---------------------------------------------------------------------------
// Determinism.

TEST(InitRules, SameSeedAndNameGiveSameNumbers) {
  for (const char *r :
       {R"({"scheme": "uniform"})", R"({"scheme": "normal"})",
        R"({"scheme": "kaiming_uniform"})", R"({"scheme": "xavier_normal"})"}) {
    auto a = fill(r, {32, 16, 3, 3}, 42, "layer1.0.conv1.weight");
    auto b = fill(r, {32, 16, 3, 3}, 42, "layer1.0.conv1.weight");
    EXPECT_EQ(a, b) << r;
  }
}

double correlation(const std::vector<float> &x, const std::vector<float> &y) {
  Moments mx = moments(x), my = moments(y);
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i)
    s += (x[i] - mx.mean) * (y[i] - my.mean);
  return s / double(x.size() - 1) / std::sqrt(mx.var * my.var);
}

TEST(InitRules, DifferentNameOrSeedGiveIndependentNumbers) {
  const char *r = R"({"scheme": "uniform", "a": -1, "b": 1})";
  kiln::Shape s = {200000};
  auto base = fill(r, s, 0, "fc1.weight");
  double limit = 5 / std::sqrt(double(s[0]));
  for (const auto &other :
       {fill(r, s, 0, "fc2.weight"), fill(r, s, 0, "fc1.bias"),
        fill(r, s, 1, "fc1.weight"), fill(r, s, 0, "fc1.weigh"),
        fill(r, s, 0, "")}) {
    EXPECT_NE(other, base);
    EXPECT_LT(std::fabs(correlation(base, other)), limit);
    // Not a shifted copy of the same stream either.
    std::vector<float> shifted(base.begin() + 1, base.end());
    std::vector<float> head(other.begin(), other.end() - 1);
    EXPECT_LT(std::fabs(correlation(shifted, head)), limit);
  }
  // Successive draws of one stream are uncorrelated too, for normals also
  // within and across Box-Muller pairs.
  auto normal = fill(R"({"scheme": "normal"})", s, 0, "fc1.weight");
  for (const auto *v : {&base, &normal}) {
    std::vector<float> a(v->begin(), v->end() - 1), b(v->begin() + 1, v->end());
    EXPECT_LT(std::fabs(correlation(a, b)), limit);
    std::vector<float> even, odd;
    for (size_t i = 0; i + 1 < v->size(); i += 2) {
      even.push_back((*v)[i]);
      odd.push_back((*v)[i + 1]);
    }
    EXPECT_LT(std::fabs(correlation(even, odd)),
              5 / std::sqrt(double(even.size())));
  }
}

TEST(InitRules, DeterministicAcrossShapesOfSameSize) {
  // The stream depends on (seed, name) only; the shape sets the scale.
  auto a = fill(R"({"scheme": "uniform"})", {6, 4}, 3, "w");
  auto b = fill(R"({"scheme": "uniform"})", {24}, 3, "w");
  EXPECT_EQ(a, b);
}

// ---------------------------------------------------------------------------
// Fill errors.

TEST(InitRules, XavierAndKaimingNeedTwoDims) {
  for (const char *r :
       {R"({"scheme": "xavier_uniform"})", R"({"scheme": "xavier_normal"})",
        R"({"scheme": "kaiming_uniform"})",
        R"({"scheme": "kaiming_normal"})"}) {
    for (const kiln::Shape &shape : {kiln::Shape{10}, kiln::Shape{}}) {
      Doc d(r);
      InitRule ru = kiln::parseInitRule(d.node(kRulePath));
      std::vector<float> out;
      Caught c = catchError([&] {
        kiln::fillByRule(ru, shape, 0, "fc.bias",
                         d.node("model.modules.fc.initializers.bias"), out);
      });
      EXPECT_TRUE(c.thrown) << r;
      EXPECT_EQ(c.file, kFile);
      EXPECT_EQ(c.location, "model.modules.fc.initializers.bias");
      EXPECT_NE(c.message.find("\"fc.bias\""), std::string::npos) << c.message;
      EXPECT_NE(c.message.find("at least 2 dimensions"), std::string::npos)
          << c.message;
      EXPECT_NE(c.message.find(kiln::schemeName(ru.scheme)), std::string::npos)
          << c.message;
    }
  }
}

TEST(InitRules, KaimingOnEmptyTensorIsNoOp) {
  // PyTorch: "Initializing zero-element tensors is a no-op", even for 1-d.
  EXPECT_TRUE(fill(R"({"scheme": "kaiming_uniform"})", {0, 4}).empty());
  EXPECT_TRUE(fill(R"({"scheme": "kaiming_normal"})", {0}).empty());
  // Xavier still needs 2 dims, as in PyTorch.
  Doc d(R"({"scheme": "xavier_uniform"})");
  std::vector<float> out;
  EXPECT_TRUE(catchError([&] {
                kiln::fillByRule(kiln::parseInitRule(d.node(kRulePath)), {0}, 0,
                                 "p", d.node(kRulePath), out);
              }).thrown);
}

TEST(InitRules, XavierBoundBeyondFloatIsAnError) {
  Doc d(R"({"scheme": "xavier_uniform", "gain": 1e300})");
  std::vector<float> out;
  Caught c = catchError([&] {
    kiln::fillByRule(kiln::parseInitRule(d.node(kRulePath)), {4, 4}, 0, "w",
                     d.node(kRulePath), out);
  });
  EXPECT_TRUE(c.thrown);
  EXPECT_EQ(c.location, kRulePath);
  EXPECT_NE(c.message.find("float32"), std::string::npos) << c.message;
}

// ---------------------------------------------------------------------------
// Parsing.

TEST(InitRules, ParsesEveryScheme) {
  EXPECT_EQ(rule(R"({"scheme": "constant", "val": 0.5})").val, 0.5);
  EXPECT_EQ(rule(R"({"scheme": "zeros"})").scheme, Scheme::Zeros);
  EXPECT_EQ(rule(R"({"scheme": "ones"})").scheme, Scheme::Ones);
  EXPECT_EQ(rule(R"({"scheme": "xavier_uniform"})").gain, 1);
  EXPECT_EQ(rule(R"({"scheme": "xavier_normal", "gain": 3})").gain, 3);
  InitRule u = rule(R"({"scheme": "uniform", "a": -0.5, "b": 2})");
  EXPECT_EQ(u.a, -0.5);
  EXPECT_EQ(u.b, 2);
  InitRule n = rule(R"({"scheme": "normal", "mean": 1, "std": 0.1})");
  EXPECT_EQ(n.scheme, Scheme::Normal);
  EXPECT_EQ(n.mean, 1);
  EXPECT_EQ(n.std, 0.1);
  InitRule k = rule(R"({"scheme": "kaiming_uniform"})");
  EXPECT_EQ(k.scheme, Scheme::KaimingUniform);
  EXPECT_EQ(k.a, 0);
  EXPECT_FALSE(k.fanOut);
  EXPECT_EQ(k.nonlinearity, "leaky_relu");
  InitRule k2 = rule(
      R"({"scheme": "kaiming_normal", "a": 0.1, "mode": "fan_out", "nonlinearity": "selu"})");
  EXPECT_EQ(k2.scheme, Scheme::KaimingNormal);
  EXPECT_EQ(k2.a, 0.1);
  EXPECT_TRUE(k2.fanOut);
  EXPECT_EQ(k2.nonlinearity, "selu");
  for (const char *s :
       {"uniform", "normal", "constant", "zeros", "ones", "xavier_uniform",
        "xavier_normal", "kaiming_uniform", "kaiming_normal"}) {
    std::string text = std::string(R"({"scheme": ")") + s + "\"" +
                       (std::string(s) == "constant" ? R"(, "val": 1})" : "}");
    EXPECT_STREQ(kiln::schemeName(rule(text).scheme), s);
  }
}

TEST(InitRules, ErrorUnknownScheme) {
  Caught c = ruleError(R"({"scheme": "xavier_unifrom", "gain": 1})");
  EXPECT_EQ(c.location, at("scheme"));
  EXPECT_NE(c.message.find("\"xavier_unifrom\""), std::string::npos);
  EXPECT_NE(c.message.find("did you mean \"xavier_uniform\""),
            std::string::npos)
      << c.message;
  // torch's function name with its trailing underscore.
  c = ruleError(R"({"scheme": "kaiming_normal_"})");
  EXPECT_EQ(c.location, at("scheme"));
  EXPECT_NE(c.message.find("did you mean \"kaiming_normal\""),
            std::string::npos)
      << c.message;
}

TEST(InitRules, ErrorMissingOrMistypedScheme) {
  Caught c = ruleError(R"({"gain": 1})");
  EXPECT_EQ(c.location, at("scheme"));
  EXPECT_NE(c.message.find("missing required key \"scheme\""),
            std::string::npos)
      << c.message;
  c = ruleError(R"({"scheme": 3})");
  EXPECT_EQ(c.location, at("scheme"));
  EXPECT_NE(c.message.find("expected a string"), std::string::npos)
      << c.message;
}

TEST(InitRules, ErrorRuleNotAnObject) {
  Caught c = ruleError(R"("zeros")");
  EXPECT_EQ(c.location, kRulePath);
  EXPECT_NE(c.message.find("expected an object"), std::string::npos)
      << c.message;
}

TEST(InitRules, ErrorUnknownKeyNamesNearest) {
  Caught c = ruleError(R"({"scheme": "xavier_normal", "gian": 2})");
  EXPECT_EQ(c.location, at("gian"));
  EXPECT_NE(c.message.find("unknown key \"gian\""), std::string::npos);
  EXPECT_NE(c.message.find("did you mean \"gain\""), std::string::npos)
      << c.message;
  c = ruleError(R"({"scheme": "normal", "mena": 2})");
  EXPECT_EQ(c.location, at("mena"));
  EXPECT_NE(c.message.find("did you mean \"mean\""), std::string::npos)
      << c.message;
  c = ruleError(R"({"scheme": "kaiming_uniform", "nonlinarity": "relu"})");
  EXPECT_EQ(c.location, at("nonlinarity"));
  EXPECT_NE(c.message.find("did you mean \"nonlinearity\""), std::string::npos)
      << c.message;
  c = ruleError(R"({"schema": "zeros", "scheme": "zeros"})");
  EXPECT_EQ(c.location, at("schema"));
  EXPECT_NE(c.message.find("did you mean \"scheme\""), std::string::npos)
      << c.message;
}

TEST(InitRules, ErrorArgumentSchemeDoesNotTake) {
  Caught c = ruleError(R"({"scheme": "uniform", "std": 2})");
  EXPECT_EQ(c.location, at("std"));
  EXPECT_NE(c.message.find("uniform takes no argument \"std\""),
            std::string::npos)
      << c.message;
  EXPECT_NE(c.message.find("\"a\", \"b\""), std::string::npos) << c.message;
  c = ruleError(R"({"scheme": "xavier_uniform", "mode": "fan_in"})");
  EXPECT_EQ(c.location, at("mode"));
  EXPECT_NE(c.message.find("\"gain\""), std::string::npos) << c.message;
  c = ruleError(R"({"scheme": "zeros", "val": 0})");
  EXPECT_EQ(c.location, at("val"));
  EXPECT_NE(c.message.find("zeros takes no argument \"val\""),
            std::string::npos)
      << c.message;
  c = ruleError(R"({"scheme": "kaiming_normal", "gain": 2})");
  EXPECT_EQ(c.location, at("gain"));
  EXPECT_NE(c.message.find("\"a\", \"mode\", \"nonlinearity\""),
            std::string::npos)
      << c.message;
}

TEST(InitRules, ErrorMistypedValues) {
  Caught c = ruleError(R"({"scheme": "uniform", "a": "0"})");
  EXPECT_EQ(c.location, at("a"));
  EXPECT_NE(c.message.find("expected a number"), std::string::npos)
      << c.message;
  c = ruleError(R"({"scheme": "kaiming_uniform", "a": true})");
  EXPECT_EQ(c.location, at("a"));
  EXPECT_NE(c.message.find("expected a number"), std::string::npos)
      << c.message;
  c = ruleError(R"({"scheme": "kaiming_uniform", "mode": 1})");
  EXPECT_EQ(c.location, at("mode"));
  EXPECT_NE(c.message.find("expected a string"), std::string::npos)
      << c.message;
  c = ruleError(R"({"scheme": "xavier_normal", "gain": null})");
  EXPECT_EQ(c.location, at("gain"));
}

TEST(InitRules, ErrorNegativeStd) {
  Caught c = ruleError(R"({"scheme": "normal", "std": -0.1})");
  EXPECT_EQ(c.location, at("std"));
  EXPECT_NE(c.message.find("std must be >= 0"), std::string::npos) << c.message;
}

TEST(InitRules, ErrorLowAboveHigh) {
  Caught c = ruleError(R"({"scheme": "uniform", "a": 2, "b": 1})");
  EXPECT_EQ(c.location, at("b"));
  EXPECT_NE(c.message.find("a <= b"), std::string::npos) << c.message;
  EXPECT_NE(c.message.find("a = 2 and b = 1"), std::string::npos) << c.message;
  // Only a given: b defaults to 1, a is the culprit.
  c = ruleError(R"({"scheme": "uniform", "a": 1.5})");
  EXPECT_EQ(c.location, at("a"));
  c = ruleError(R"({"scheme": "uniform", "b": -1})");
  EXPECT_EQ(c.location, at("b"));
}

TEST(InitRules, ErrorBadMode) {
  Caught c = ruleError(R"({"scheme": "kaiming_uniform", "mode": "fan_inn"})");
  EXPECT_EQ(c.location, at("mode"));
  EXPECT_NE(c.message.find("\"fan_in\" or \"fan_out\""), std::string::npos)
      << c.message;
  EXPECT_NE(c.message.find("did you mean \"fan_in\""), std::string::npos)
      << c.message;
  c = ruleError(R"({"scheme": "kaiming_normal", "mode": "fanout"})");
  EXPECT_EQ(c.location, at("mode"));
  EXPECT_NE(c.message.find("did you mean \"fan_out\""), std::string::npos)
      << c.message;
}

TEST(InitRules, ErrorBadNonlinearity) {
  Caught c =
      ruleError(R"({"scheme": "kaiming_uniform", "nonlinearity": "Relu"})");
  EXPECT_EQ(c.location, at("nonlinearity"));
  EXPECT_NE(c.message.find("did you mean \"relu\""), std::string::npos)
      << c.message;
  c = ruleError(R"({"scheme": "kaiming_normal", "nonlinearity": "identity"})");
  EXPECT_EQ(c.location, at("nonlinearity"));
  EXPECT_NE(c.message.find("\"leaky_relu\""), std::string::npos) << c.message;
  c = ruleError(
      R"({"scheme": "kaiming_normal", "nonlinearity": "lekay_relu"})");
  EXPECT_NE(c.message.find("did you mean \"leaky_relu\""), std::string::npos)
      << c.message;
}

TEST(InitRules, ErrorConstantNeedsVal) {
  Caught c = ruleError(R"({"scheme": "constant"})");
  EXPECT_EQ(c.location, at("val"));
  EXPECT_NE(c.message.find("missing required key \"val\""), std::string::npos)
      << c.message;
}

TEST(InitRules, ErrorNegativeXavierGain) {
  // PyTorch fails too: a negative bound (uniform) or std (normal).
  Caught c = ruleError(R"({"scheme": "xavier_uniform", "gain": -1})");
  EXPECT_EQ(c.location, at("gain"));
  EXPECT_NE(c.message.find("gain must be >= 0"), std::string::npos)
      << c.message;
}

TEST(InitRules, ErrorNumbersBeyondFloat) {
  for (const char *key : {"a", "b"}) {
    Caught c = ruleError(std::string(R"({"scheme": "uniform", ")") + key +
                         R"(": )" + (key[0] == 'a' ? "-1e39" : "1e39") + "}");
    EXPECT_EQ(c.location, at(key));
    EXPECT_NE(c.message.find("float32 range"), std::string::npos) << c.message;
  }
  Caught c = ruleError(R"({"scheme": "constant", "val": 1e39})");
  EXPECT_EQ(c.location, at("val"));
  c = ruleError(R"({"scheme": "normal", "mean": -1e39})");
  EXPECT_EQ(c.location, at("mean"));
  // The largest float is fine.
  EXPECT_EQ(rule(R"({"scheme": "constant", "val": 3.4e38})").val, 3.4e38);
}

TEST(InitRules, ParseInitializersMapsParameters) {
  Doc d(R"({"weight": {"scheme": "xavier_uniform", "gain": 1.0},
            "bias": {"scheme": "zeros"}})");
  auto rules = kiln::parseInitializers(d.node(kInitPath), {"weight", "bias"});
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules.at("weight").scheme, Scheme::XavierUniform);
  EXPECT_EQ(rules.at("bias").scheme, Scheme::Zeros);
  Doc empty("{}");
  EXPECT_TRUE(kiln::parseInitializers(empty.node(kInitPath), {}).empty());
}

TEST(InitRules, ErrorInitializersUnknownParameter) {
  Caught c = initializersError(R"({"wieght": {"scheme": "zeros"}})",
                               {"weight", "bias"});
  EXPECT_EQ(c.location, std::string(kInitPath) + ".wieght");
  EXPECT_NE(c.message.find("did you mean \"weight\""), std::string::npos)
      << c.message;
  EXPECT_NE(c.message.find("\"weight\", \"bias\""), std::string::npos)
      << c.message;
  // A buffer is not a parameter.
  c = initializersError(R"({"running_mean": {"scheme": "zeros"}})",
                        {"weight", "bias"});
  EXPECT_EQ(c.location, std::string(kInitPath) + ".running_mean");
  // A layer without parameters.
  c = initializersError(R"({"weight": {"scheme": "zeros"}})", {});
  EXPECT_EQ(c.location, std::string(kInitPath) + ".weight");
  EXPECT_NE(c.message.find("no parameters"), std::string::npos) << c.message;
}

TEST(InitRules, ErrorInitializersNestedRulePath) {
  Caught c = initializersError(
      R"({"weight": {"scheme": "zeros"}, "bias": {"scheme": "zero"}})",
      {"weight", "bias"});
  EXPECT_EQ(c.location, std::string(kInitPath) + ".bias.scheme");
  EXPECT_NE(c.message.find("did you mean \"zeros\""), std::string::npos)
      << c.message;
  c = initializersError(R"([{"scheme": "zeros"}])", {"weight"});
  EXPECT_EQ(c.location, kInitPath);
  EXPECT_NE(c.message.find("expected an object"), std::string::npos)
      << c.message;
}

} // namespace
