// `init` and per-module `initializers` rules as the loader applies them:
// rules win over PyTorch's defaults, defaults keep PyTorch's bounds, the
// values are deterministic for a seed, and rules are checked against the
// layer's real parameters.
#include "frontend/model_loader.h"
#include "support/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace kiln {
namespace {

std::unique_ptr<Graph>
load(const std::string &layer,
     const std::string &init = R"("init": {"seed": 7},)") {
  // One file per test and call: ctest runs the tests in parallel.
  static int calls = 0;
  std::string path =
      (std::filesystem::temp_directory_path() /
       ("kiln_init_" +
        std::string(
            ::testing::UnitTest::GetInstance()->current_test_info()->name()) +
        "_" + std::to_string(calls++) + ".json"))
          .string();
  std::ofstream(path) << R"({"kiln": 1, "name": "m", )" << init
                      << R"( "inputs": [{"name": "x", "shape": [2, 16]}],
    "model": {"type": "Sequential", "layers": [)"
                      << layer << "]}}";
  return loadModel(path, {});
}

const std::vector<float> &weight(const Graph &g, const std::string &name) {
  for (const Value *w : g.weights)
    if (w->name == name)
      return *w->data;
  ADD_FAILURE() << "no weight " << name;
  static std::vector<float> none;
  return none;
}

TEST(InitializersLoading, RuleWinsOverDefault) {
  auto g = load(R"({"type": "Linear", "in_features": 16, "out_features": 8,
      "initializers": {"weight": {"scheme": "constant", "val": 0.5}}})");
  for (float v : weight(*g, "0.weight"))
    EXPECT_EQ(v, 0.5f);
  // The bias keeps PyTorch's default: uniform(+-1/sqrt(in_features)).
  const auto &b = weight(*g, "0.bias");
  ASSERT_EQ(b.size(), 8u);
  for (float v : b)
    EXPECT_LE(std::fabs(v), 0.25f);
  EXPECT_NE(b[0], b[1]);
}

TEST(InitializersLoading, RuleAppliesWithoutTopLevelInit) {
  auto g = load(R"({"type": "Linear", "in_features": 16, "out_features": 4,
      "bias": false, "initializers": {"weight": {"scheme": "ones"}}})",
                "");
  for (float v : weight(*g, "0.weight"))
    EXPECT_EQ(v, 1.0f);
}

TEST(InitializersLoading, DefaultsAreDeterministicPerSeed) {
  const char *conv =
      R"({"type": "Linear", "in_features": 16, "out_features": 8})";
  auto a = load(conv), b = load(conv);
  auto c = load(conv, R"("init": {"seed": 8},)");
  EXPECT_EQ(weight(*a, "0.weight"), weight(*b, "0.weight"));
  EXPECT_NE(weight(*a, "0.weight"), weight(*c, "0.weight"));
}

TEST(InitializersLoading, RuleForAbsentParameterIsRefused) {
  try {
    load(R"({"type": "Linear", "in_features": 16, "out_features": 4,
        "bias": false, "initializers": {"bias": {"scheme": "zeros"}}})");
    FAIL() << "a rule for the absent bias was accepted";
  } catch (const Error &e) {
    EXPECT_EQ(e.location(), "model.layers[0].initializers.bias");
    EXPECT_NE(e.message().find("weight"), std::string::npos) << e.what();
  }
}

TEST(InitializersLoading, BufferRuleIsRefused) {
  try {
    load(R"({"type": "BatchNorm1d", "num_features": 16,
        "initializers": {"running_mean": {"scheme": "zeros"}}})");
    FAIL() << "a rule for a buffer was accepted";
  } catch (const Error &e) {
    EXPECT_EQ(e.location(), "model.layers[0].initializers.running_mean");
  }
}

} // namespace
} // namespace kiln
