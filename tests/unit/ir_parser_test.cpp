// The textual IR parser: print -> parse -> print is the identity on graphs
// the frontend builds from every reference model (with and without
// locations), a hand-written file exercises the corners of the syntax, and
// each bad input gives a kiln::Error at the exact line and column with a
// message saying what was expected and what was found.
#include "ir/parser.h"

#include "frontend/model_loader.h"
#include "ir/op_def.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "support/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace kiln {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Round trips of frontend-built graphs.

/// The `-D name=value` flags of a model folder's flags.txt, if any.
LoadOptions flagsOf(const fs::path &dir) {
  LoadOptions o;
  std::ifstream in(dir / "flags.txt");
  std::string tok;
  bool define = false;
  while (in >> tok) {
    if (tok == "-D") {
      define = true;
      continue;
    }
    if (tok.rfind("-D", 0) == 0) {
      tok = tok.substr(2);
      define = true;
    }
    if (define) {
      size_t eq = tok.find('=');
      if (eq != std::string::npos)
        o.defines[tok.substr(0, eq)] = tok.substr(eq + 1);
    }
    define = false;
  }
  return o;
}

/// The folders under `root` that hold a model.json, sorted.
std::vector<fs::path> modelDirs(const fs::path &root) {
  std::vector<fs::path> dirs;
  if (!fs::is_directory(root))
    return dirs;
  for (const auto &e : fs::directory_iterator(root))
    if (fs::exists(e.path() / "model.json"))
      dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

/// Parses `printGraph(g, opts)` (weights get `g`'s data) and checks that
/// printing the result gives the same text.
void expectRoundTrip(const Graph &g, const PrintOptions &opts) {
  std::string text = printGraph(g, opts);
  std::map<std::string, const Value *> weights;
  for (const Value *w : g.weights)
    weights[w->name] = w;
  ParseOptions po;
  po.weightData = [&](const std::string &name, const Shape &shape) {
    auto it = weights.find(name);
    EXPECT_NE(it, weights.end()) << name;
    if (it == weights.end())
      return std::shared_ptr<const std::vector<float>>();
    EXPECT_EQ(it->second->shape, shape) << name;
    return it->second->data;
  };
  std::unique_ptr<Graph> p;
  try {
    p = parseGraph(text, "roundtrip.kir", po);
  } catch (const Error &e) {
    FAIL() << e.what() << "\nin:\n" << text;
  }
  EXPECT_EQ(printGraph(*p, opts), text);
  EXPECT_EQ(p->name, g.name);
  EXPECT_EQ(p->file, "roundtrip.kir");
  ASSERT_EQ(p->weights.size(), g.weights.size());
  for (size_t i = 0; i < g.weights.size(); ++i)
    EXPECT_EQ(*p->weights[i]->data, *g.weights[i]->data) << g.weights[i]->name;
  ASSERT_EQ(p->ops.size(), g.ops.size());
  for (size_t i = 0; i < g.ops.size(); ++i)
    EXPECT_EQ(p->ops[i]->loc.path,
              opts.locations
                  ? g.ops[i]->loc.path
                  : "line " + std::to_string(g.weights.size() + 2 + i))
        << printOp(*g.ops[i]);
  EXPECT_NO_THROW(verifyGraph(*p));
}

void roundTripModelsUnder(const fs::path &root, size_t expectedAtLeast) {
  std::vector<fs::path> dirs = modelDirs(root);
  ASSERT_GE(dirs.size(), expectedAtLeast) << root;
  for (const fs::path &dir : dirs) {
    SCOPED_TRACE(dir.string());
    std::unique_ptr<Graph> g;
    try {
      g = loadModel((dir / "model.json").string(), flagsOf(dir));
    } catch (const Error &e) {
      FAIL() << e.what();
    }
    expectRoundTrip(*g, PrintOptions{false});
    expectRoundTrip(*g, PrintOptions{true});
  }
}

TEST(IrParserRoundTrip, SharedModels) {
  fs::path root = fs::path(KILN_SHARED_DIR) / "models";
  if (!fs::is_directory(root))
    GTEST_SKIP() << root << " is missing";
  roundTripModelsUnder(root, 7);
}

TEST(IrParserRoundTrip, Examples) {
  roundTripModelsUnder(fs::path(KILN_SOURCE_DIR) / "examples", 1);
}

/// A model using most layers and op kinds: padding_mode reflect (pad), conv
/// without bias, batch norm, max pooling with indices and unpooling, the
/// activations with float attributes (negative, 1e-05), cat, PReLU, LRN,
/// avg and adaptive pooling, sum / mean, scalar constants (0-d weights),
/// batch statistics, linear, log_softmax with a negative dim.
const char *const kZoo = R"({
  "kiln": 1,
  "name": "zoo",
  "inputs": [{"name": "x", "shape": [1, 4, 8, 8], "dtype": "float32"},
             {"name": "v", "shape": [2, 6], "dtype": "float32"}],
  "init": {"seed": 1},
  "model": {
    "type": "Zoo",
    "modules": {
      "conv": {"type": "Conv2d", "in_channels": 4, "out_channels": 4, "kernel_size": 3,
               "padding": 1, "bias": false, "padding_mode": "reflect"},
      "bn": {"type": "BatchNorm2d", "num_features": 4, "eps": 0.001},
      "pool": {"type": "MaxPool2d", "kernel_size": 2, "return_indices": true},
      "unpool": {"type": "MaxUnpool2d", "kernel_size": 2},
      "leaky": {"type": "LeakyReLU", "negative_slope": -0.5},
      "ht": {"type": "Hardtanh", "min_val": -2.5, "max_val": 1e-05},
      "elu": {"type": "ELU"},
      "prelu": {"type": "PReLU", "num_parameters": 8},
      "lrn": {"type": "LocalResponseNorm", "size": 3},
      "avg": {"type": "AvgPool2d", "kernel_size": 3, "stride": 2, "padding": 1,
              "ceil_mode": true, "count_include_pad": false},
      "adapt": {"type": "AdaptiveMaxPool2d", "output_size": [3, 3]},
      "gn": {"type": "BatchNorm1d", "num_features": 6, "track_running_stats": false},
      "sm": {"type": "LogSoftmax", "dim": -1},
      "fc": {"type": "Linear", "in_features": 6, "out_features": 3}
    },
    "forward": [
      {"out": "c", "call": "conv", "in": ["x"]},
      {"out": "b", "call": "bn", "in": ["c"]},
      {"out": ["p", "i"], "call": "pool", "in": ["b"]},
      {"out": "u", "call": "unpool", "in": ["p", "i"]},
      {"out": "l", "call": "leaky", "in": ["u"]},
      {"out": "h", "call": "ht", "in": ["l"]},
      {"out": "e", "call": "elu", "in": ["h"]},
      {"out": "k", "op": "cat", "in": ["e", "x"], "dim": 1},
      {"out": "pr", "call": "prelu", "in": ["k"]},
      {"out": "n", "call": "lrn", "in": ["pr"]},
      {"out": "a", "call": "avg", "in": ["n"]},
      {"out": "ad", "call": "adapt", "in": ["a"]},
      {"out": "s", "op": "sum", "in": ["ad"], "dim": [2, 3], "keepdim": true},
      {"out": "m", "op": "mean", "in": ["ad"], "dim": 1},
      {"out": "q", "op": "add", "in": ["s", 0.5]},
      {"out": "g", "call": "gn", "in": ["v"]},
      {"out": "f", "call": "fc", "in": ["g"]},
      {"out": "z", "call": "sm", "in": ["f"]},
      {"out": "w", "op": "div", "in": ["z", 3]},
      {"return": ["q", "m", "w"]}
    ]
  }
})";

TEST(IrParserRoundTrip, ManyOpKinds) {
  fs::path dir = fs::temp_directory_path() /
                 ("kiln_ir_parser_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  { std::ofstream(dir / "model.json") << kZoo; }
  std::unique_ptr<Graph> g;
  try {
    g = loadModel((dir / "model.json").string(), {});
  } catch (const Error &e) {
    fs::remove_all(dir);
    FAIL() << e.what();
  }
  fs::remove_all(dir);
  EXPECT_GE(g->ops.size(), 19u);
  expectRoundTrip(*g, PrintOptions{false});
  expectRoundTrip(*g, PrintOptions{true});
}

/// The shape ops and matmul: views (squeeze, unsqueeze, a permutation of
/// size-1 dims), transpose, slices of chunk and split, matmul of every rank
/// combination, a 0-d result.
const char *const kShapeOps = R"({
  "kiln": 1,
  "name": "shape_ops",
  "inputs": [{"name": "x", "shape": [2, 6, 1, 4], "dtype": "float32"}],
  "model": {
    "type": "ShapeOps",
    "modules": {},
    "forward": [
      {"out": ["a", "b", "c"], "op": "chunk", "in": ["x"], "chunks": 4, "dim": 1},
      {"out": ["d", "e"], "op": "split", "in": ["x"], "split_size_or_sections": [1, 3], "dim": -1},
      {"out": "p", "op": "permute", "in": ["a"], "dims": [0, 2, 3, 1]},
      {"out": "q", "op": "transpose", "in": ["b"], "dim0": 2, "dim1": 1},
      {"out": "s", "op": "squeeze", "in": ["q"]},
      {"out": "u", "op": "unsqueeze", "in": ["s"], "dim": -1},
      {"out": "m", "op": "matmul", "in": ["s", "p"]},
      {"out": "v", "op": "squeeze", "in": ["d"], "dim": [2, 3]},
      {"out": "xs", "op": "squeeze", "in": ["x"], "dim": 2},
      {"out": "w", "op": "matmul", "in": ["v", "xs"]},
      {"out": "r", "op": "flatten", "in": ["e"]},
      {"out": "o", "op": "matmul", "in": ["r", "r"]},
      {"return": ["m", "u", "w", "o", "c"]}
    ]
  }
})";

TEST(IrParserRoundTrip, ShapeOpsAndMatmul) {
  fs::path dir = fs::temp_directory_path() /
                 ("kiln_ir_parser_shape_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  { std::ofstream(dir / "model.json") << kShapeOps; }
  std::unique_ptr<Graph> g;
  try {
    g = loadModel((dir / "model.json").string(), {});
  } catch (const Error &e) {
    fs::remove_all(dir);
    FAIL() << e.what();
  }
  fs::remove_all(dir);
  std::map<std::string, int> kinds;
  for (const auto &op : g->ops)
    ++kinds[op->name()];
  EXPECT_EQ(kinds["slice"], 5);
  EXPECT_EQ(kinds["transpose"], 1);
  EXPECT_EQ(kinds["matmul"], 3);
  EXPECT_GE(kinds["reshape"], 4);
  EXPECT_EQ(g->outputs[3].second->shape, Shape{}); // r @ r: 0-d
  expectRoundTrip(*g, PrintOptions{false});
  expectRoundTrip(*g, PrintOptions{true});
}

/// GroupNorm, LayerNorm with and without affine parameters, layer_norm
/// with a weight only, a module-owned parameter, nearest upsampling of 1 to
/// 3 spatial dims by size and by scale factor (one channel: PyTorch's other
/// kernel), bilinear with align_corners.
const char *const kNormsUpsample = R"({
  "kiln": 1,
  "name": "norms_upsample",
  "inputs": [{"name": "x", "shape": [2, 4, 5, 6], "dtype": "float32"},
             {"name": "v", "shape": [1, 1, 3, 4, 5], "dtype": "float32"}],
  "init": {"seed": 3},
  "model": {
    "type": "NormsUpsample",
    "parameters": {"gamma": [6]},
    "initializers": {"gamma": {"scheme": "normal"}},
    "modules": {
      "gn": {"type": "GroupNorm", "num_groups": 2, "num_channels": 4, "eps": 0.001},
      "ln": {"type": "LayerNorm", "normalized_shape": [5, 6]},
      "ln0": {"type": "LayerNorm", "normalized_shape": 6, "elementwise_affine": false},
      "up": {"type": "Upsample", "scale_factor": [1.5, 2.3], "mode": "bilinear", "align_corners": true},
      "up3": {"type": "Upsample", "scale_factor": 2.1}
    },
    "forward": [
      {"out": "g", "call": "gn", "in": ["x"]},
      {"out": "l", "call": "ln", "in": ["g"]},
      {"out": "l0", "call": "ln0", "in": ["l"]},
      {"out": "f", "op": "layer_norm", "in": ["l0", "gamma"], "normalized_shape": [6], "eps": 0.0001},
      {"out": "u", "call": "up", "in": ["f"]},
      {"out": "r", "op": "flatten", "in": ["u"], "start_dim": 2},
      {"out": "n", "op": "interpolate", "in": ["r"], "size": 50},
      {"out": "w", "call": "up3", "in": ["v"]},
      {"out": "z", "op": "interpolate", "in": ["w"], "scale_factor": 0.5, "recompute_scale_factor": true},
      {"return": ["n", "z"]}
    ]
  }
})";

TEST(IrParserRoundTrip, NormsUpsampleAndModuleParameters) {
  fs::path dir = fs::temp_directory_path() /
                 ("kiln_ir_parser_norms_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  { std::ofstream(dir / "model.json") << kNormsUpsample; }
  std::unique_ptr<Graph> g;
  try {
    g = loadModel((dir / "model.json").string(), {});
  } catch (const Error &e) {
    fs::remove_all(dir);
    FAIL() << e.what();
  }
  fs::remove_all(dir);
  std::map<std::string, int> kinds;
  for (const auto &op : g->ops)
    ++kinds[op->name()];
  EXPECT_EQ(kinds["group_norm"], 1);
  EXPECT_EQ(kinds["layer_norm"], 3);
  EXPECT_EQ(kinds["upsample_bilinear"], 1);
  EXPECT_EQ(kinds["upsample_nearest"], 3);
  EXPECT_EQ(g->outputs[0].second->shape, (Shape{2, 4, 50}));
  EXPECT_EQ(g->outputs[1].second->shape, (Shape{1, 1, 3, 4, 5}));
  std::string text = printGraph(*g, PrintOptions{false});
  EXPECT_NE(text.find("weight @gamma : f32[6]"), std::string::npos) << text;
  EXPECT_NE(text.find("upsample_nearest(%up3) {size = [3, 4, 5]}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("{align_corners = true, scale_h = 1.5, scale_w = 2.3, "
                      "size = [7, 13]}"),
            std::string::npos)
      << text;
  expectRoundTrip(*g, PrintOptions{false});
  expectRoundTrip(*g, PrintOptions{true});
}

// ---------------------------------------------------------------------------
// A hand-written file.

/// Canonical text (as the printer writes it) of a graph with two multi-result
/// ops (numbered and freely named results), max_unpool of their indices,
/// conv without bias, batch_norm with its last optional operand absent, a
/// variadic cat, negative ints and floats in every printed form.
const char *const kCanonical =
    R"(graph @hand(%x: f32[1,2,4,4], %y: f32[1,2,4,4]) -> (out: f32[1,6,4,4], idx_sum: f32[1,2,4,4]) {
  weight @w : f32[2,2,3,3]
  weight @bn.mean : f32[2]
  weight @bn.var : f32[2]
  weight @bn.gamma : f32[2]
  weight @s : f32[] = -0.5
  %p.0, %p.1 = max_pool_indices(%x) {ceil_mode = false, dilation = [1, 1], kernel = [2, 2], padding = [0, 0], stride = [2, 2]} : f32[1,2,2,2], i32[1,2,2,2]
  %u = max_unpool(%p.0, %p.1) {output_size = [4, 4]} : f32[1,2,4,4]
  %vals, %where = adaptive_max_pool_indices(%y) {output_size = [2, 2]} : f32[1,2,2,2], i32[1,2,2,2]
  %u2 = max_unpool(%vals, %where) {output_size = [4, 4]} : f32[1,2,4,4]
  %c = conv(%u, @w) {dilation = [1, 1], groups = 1, padding = [1, 1, 1, 1], stride = [1, 1]} : f32[1,2,4,4]
  %bn = batch_norm(%c, @bn.mean, @bn.var, @bn.gamma) {eps = 1e-05} : f32[1,2,4,4]
  %l = leaky_relu(%bn) {negative_slope = -0.5} : f32[1,2,4,4]
  %h = hardtanh(%l) {max_val = inf, min_val = -inf} : f32[1,2,4,4]
  %pd = pad(%h) {mode = "constant", pads = [0, 0], value = nan} : f32[1,2,4,4]
  %e = elu(%pd) {alpha = 2.5e+300} : f32[1,2,4,4]
  %cat = cat(%x, %e, %u2) {dim = 1} : f32[1,6,4,4]
  %sm = softmax(%cat) {dim = -1} : f32[1,6,4,4]
  %m = mul(%u2, @s) : f32[1,2,4,4]
  return out = %sm, idx_sum = %m
}
)";

/// kCanonical with comments, blank lines, other spacing, another attribute
/// order, other float spellings and a location with escapes: the same graph
/// (printed without locations).
const char *const kHandWritten = R"(
// A hand-written graph.

graph @hand(%x: f32[1,2,4,4], %y: f32[ 1, 2, 4, 4 ]) -> (out: f32[1,6,4,4], idx_sum: f32[1,2,4,4]) {
  weight @w : f32[2,2,3,3]
  weight @bn.mean : f32[2]
  weight @bn.var : f32[2]
  weight @bn.gamma : f32[2]
  weight @s : f32[] = -5e-1

    // Pooling with indices, then unpooling.
  %p.0, %p.1 = max_pool_indices(%x) {stride = [2, 2], kernel = [2, 2], padding = [0, 0], dilation = [1, 1], ceil_mode = false} : f32[1,2,2,2], i32[1,2,2,2]
  %u = max_unpool(%p.0, %p.1) {output_size = [4, 4]} : f32[1,2,4,4]
  %vals,%where = adaptive_max_pool_indices(%y){output_size=[2,2]}:f32[1,2,2,2],i32[1,2,2,2]
  %u2 = max_unpool(%vals, %where) {output_size = [4, 4]} : f32[1,2,4,4] loc("model.\"odd\" \\path")
  %c = conv(%u, @w) {dilation = [1, 1], groups = 1, padding = [1, 1, 1, 1], stride = [1, 1]} : f32[1,2,4,4]
  %bn = batch_norm(%c, @bn.mean, @bn.var, @bn.gamma) {eps = 0.00001} : f32[1,2,4,4]
  %l = leaky_relu(%bn) {negative_slope = -5e-1} : f32[1,2,4,4]
  %h = hardtanh(%l) {max_val = inf, min_val = -inf} : f32[1,2,4,4]
  %pd = pad(%h) {mode = "constant", pads = [0, 0], value = nan} : f32[1,2,4,4]
  %e = elu(%pd) {alpha = 2.5E300} : f32[1,2,4,4]
  %cat = cat(%x, %e, %u2) {dim = 1} : f32[1,6,4,4]   // variadic
  %sm = softmax(%cat) {dim = -1} : f32[1,6,4,4]
  %m = mul(%u2, @s) {} : f32[1,2,4,4]
  return out = %sm, idx_sum = %m
}
// trailing comment
)";

TEST(IrParserHandWritten, CanonicalTextRoundTrips) {
  std::unique_ptr<Graph> g = parseGraph(kCanonical, "hand.kir");
  EXPECT_EQ(printGraph(*g), kCanonical);
  // With locations: each op is at its line.
  std::string located = printGraph(*g, PrintOptions{true});
  EXPECT_NE(
      located.find(
          "%c = conv(%u, @w) {dilation = [1, 1], groups = 1, padding = "
          "[1, 1, 1, 1], stride = [1, 1]} : f32[1,2,4,4] loc(\"line 11\")"),
      std::string::npos)
      << located;
  EXPECT_EQ(printGraph(*parseGraph(located, "hand2.kir"), PrintOptions{true}),
            located);
}

TEST(IrParserHandWritten, CommentsSpacingAndAttributeOrder) {
  std::unique_ptr<Graph> g = parseGraph(kHandWritten, "hand.kir");
  EXPECT_EQ(printGraph(*g), kCanonical);
}

TEST(IrParserHandWritten, Contents) {
  std::unique_ptr<Graph> g = parseGraph(kHandWritten, "hand.kir");
  EXPECT_EQ(g->name, "hand");
  EXPECT_EQ(g->file, "hand.kir");
  ASSERT_EQ(g->inputs.size(), 2u);
  ASSERT_EQ(g->weights.size(), 5u);
  EXPECT_EQ(g->weights[4]->shape, Shape{});
  ASSERT_EQ(g->ops.size(), 13u);

  // Multi-result ops keep the names as written, with their element types.
  const Op &pool = *g->ops[0];
  ASSERT_EQ(pool.results.size(), 2u);
  EXPECT_EQ(pool.results[0]->name, "p.0");
  EXPECT_EQ(pool.results[1]->name, "p.1");
  EXPECT_EQ(pool.results[1]->elemType, ElemType::I32);
  const Op &adaptive = *g->ops[2];
  EXPECT_EQ(adaptive.results[0]->name, "vals");
  EXPECT_EQ(adaptive.results[1]->name, "where");
  EXPECT_EQ(adaptive.results[1]->elemType, ElemType::I32);
  EXPECT_EQ(g->ops[3]->operands[1], adaptive.results[1]);
  // ... and the names are reserved for later passes.
  EXPECT_EQ(g->uniqueName("where"), "where_1");
  EXPECT_EQ(g->uniqueName("p.1"), "p.1_1");

  // Locations: loc(...) with escapes, else the op's line.
  EXPECT_EQ(g->ops[3]->loc.path, "model.\"odd\" \\path");
  EXPECT_EQ(g->ops[3]->loc.file, "hand.kir");
  EXPECT_EQ(g->ops[4]->loc.path, "line 16");
  EXPECT_EQ(g->ops[4]->loc.file, "hand.kir");

  // conv without bias; batch_norm without bias (trailing optionals absent).
  EXPECT_EQ(g->ops[4]->operands.size(), 2u);
  EXPECT_EQ(g->ops[5]->operands.size(), 4u);
  // Variadic cat.
  EXPECT_EQ(g->ops[10]->operands.size(), 3u);

  // Attribute values.
  EXPECT_EQ(g->ops[5]->getFloat("eps"), 1e-05);
  EXPECT_EQ(g->ops[6]->getFloat("negative_slope"), -0.5);
  EXPECT_EQ(g->ops[7]->getFloat("max_val"), INFINITY);
  EXPECT_EQ(g->ops[7]->getFloat("min_val"), -INFINITY);
  EXPECT_TRUE(std::isnan(g->ops[8]->getFloat("value")));
  EXPECT_EQ(g->ops[8]->getString("mode"), "constant");
  EXPECT_EQ(g->ops[9]->getFloat("alpha"), 2.5e300);
  EXPECT_EQ(g->ops[11]->getInt("dim"), -1);
  EXPECT_EQ(g->ops[0]->getBool("ceil_mode"), false);
  EXPECT_EQ(g->ops[0]->getInts("kernel"), (std::vector<int64_t>{2, 2}));

  ASSERT_EQ(g->outputs.size(), 2u);
  EXPECT_EQ(g->outputs[1].first, "idx_sum");
  EXPECT_EQ(g->outputs[1].second, g->ops[12]->result());
}

TEST(IrParserHandWritten, WeightData) {
  std::vector<std::string> asked;
  ParseOptions po;
  po.weightData = [&](const std::string &name, const Shape &shape) {
    asked.push_back(name + shapeToString(shape));
    if (name != "s")
      return std::shared_ptr<const std::vector<float>>();
    return std::make_shared<const std::vector<float>>(1, 3.5f);
  };
  std::unique_ptr<Graph> g = parseGraph(kCanonical, "hand.kir", po);
  // The one-element @s carries its value in the text, which wins.
  EXPECT_EQ(asked, (std::vector<std::string>{"w[2, 2, 3, 3]", "bn.mean[2]",
                                             "bn.var[2]", "bn.gamma[2]"}));
  EXPECT_EQ(*g->weights[4]->data, std::vector<float>{-0.5f});
  EXPECT_EQ(*g->weights[0]->data, std::vector<float>(36, 0.0f));
}

TEST(IrParserHandWritten, ExtremeIntegersAndQuotedNames) {
  // INT64_MIN reads back (as a list entry it reaches shape inference,
  // which rejects it with its own message).
  const char *text = R"(graph @g(%"a b": f32[1,3]) -> ("o k": f32[1,3]) {
  %"r\"1" = softmax(%"a b") {dim = -9223372036854775808} : f32[1,3]
  return "o k" = %"r\"1"
})";
  try {
    parseGraph(text, "q.kir");
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_EQ(e.location(), "line 2, column 13");
    EXPECT_NE(e.message().find("dim -9223372036854775808 is out of range"),
              std::string::npos)
        << e.message();
  }
  std::string ok = text;
  ok.replace(ok.find("-9223372036854775808"), 20, "1");
  std::unique_ptr<Graph> g = parseGraph(ok, "q.kir");
  EXPECT_EQ(g->inputs[0]->name, "a b");
  EXPECT_EQ(g->ops[0]->result()->name, "r\"1");
  EXPECT_EQ(g->outputs[0].first, "o k");
}

// ---------------------------------------------------------------------------
// Errors.

/// A valid graph; the cases below change one thing in it.
const char *const kBase = R"(graph @t(%x: f32[1,3,8,8]) -> (y: f32[1,4,6,6]) {
  weight @w : f32[4,3,3,3]
  weight @b : f32[4]
  %c = conv(%x, @w, @b) {dilation = [1, 1], groups = 1, padding = [0, 0, 0, 0], stride = [1, 1]} : f32[1,4,6,6]
  %r = relu(%c) : f32[1,4,6,6]
  return y = %r
}
)";

/// kBase with `from` (which must occur once) replaced by `to`.
std::string edited(const std::string &from, const std::string &to) {
  std::string s = kBase;
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(s.find(from, at + 1), std::string::npos) << from;
  if (at == std::string::npos)
    return s;
  return s.replace(at, from.size(), to);
}

/// Parsing `text` throws a kiln::Error at `location` of file "bad.kir"
/// whose message contains `fragment`.
void expectError(const std::string &text, const std::string &location,
                 const std::string &fragment, const ParseOptions &opts = {}) {
  try {
    parseGraph(text, "bad.kir", opts);
    ADD_FAILURE() << "no error for:\n" << text;
  } catch (const Error &e) {
    EXPECT_EQ(e.file(), "bad.kir");
    EXPECT_EQ(e.location(), location) << e.what();
    EXPECT_NE(e.message().find(fragment), std::string::npos)
        << "message: " << e.message() << "\nexpected fragment: " << fragment;
  }
}

TEST(IrParserErrors, BaseIsValid) {
  EXPECT_EQ(printGraph(*parseGraph(kBase, "bad.kir")), kBase);
}

TEST(IrParserErrors, UnknownOpWithSuggestion) {
  expectError(edited("relu(%c)", "rleu(%c)"), "line 5, column 8",
              "unknown op 'rleu' (did you mean \"relu\"?)");
}

TEST(IrParserErrors, UnknownOpListsKnownOps) {
  expectError(edited("relu(%c)", "frobnicate(%c)"), "line 5, column 8",
              "unknown op 'frobnicate' (known ops: conv, conv_transpose");
}

TEST(IrParserErrors, UndefinedOperand) {
  expectError(edited("relu(%c)", "relu(%d)"), "line 5, column 13",
              "undefined value %d (did you mean \"%c\"?)");
}

TEST(IrParserErrors, DuplicateDefinition) {
  expectError(edited("%r = relu", "%c = relu"), "line 5, column 3",
              "redefinition of %c: %c is already defined at line 4, column 3");
}

TEST(IrParserErrors, DuplicateDefinitionOfAnInputName) {
  expectError(edited("weight @b :", "weight @x :"), "line 3, column 10",
              "redefinition of @x: %x is already defined at line 1, column 10");
}

TEST(IrParserErrors, MissingAttribute) {
  expectError(edited("groups = 1, ", ""), "line 4, column 8",
              "conv: missing attribute 'groups' (int)");
}

TEST(IrParserErrors, ExtraAttribute) {
  expectError(edited("relu(%c)", "relu(%c) {alpha = 1.0}"), "line 5, column 18",
              "relu has no attribute 'alpha'; its attributes: none");
}

TEST(IrParserErrors, MisspelledAttribute) {
  expectError(edited("groups = 1", "group = 1"), "line 4, column 45",
              "conv has no attribute 'group' (did you mean \"groups\"?)");
}

TEST(IrParserErrors, WrongAttributeKind) {
  expectError(edited("groups = 1", "groups = 1.0"), "line 4, column 54",
              "attribute 'groups' of conv must be int, found float 1.0");
}

TEST(IrParserErrors, WrongAttributeKindIntForFloat) {
  expectError(edited("relu(%c)", "leaky_relu(%c) {negative_slope = 1}"),
              "line 5, column 41",
              "attribute 'negative_slope' of leaky_relu must be float, found "
              "int 1");
}

TEST(IrParserErrors, WrongResultShape) {
  expectError(edited("relu(%c) : f32[1,4,6,6]", "relu(%c) : f32[1,4,6,7]"),
              "line 5, column 19",
              "result %r of relu is declared f32[1,4,6,7] but shape "
              "inference gives f32[1,4,6,6]");
}

TEST(IrParserErrors, WrongResultElementType) {
  expectError(edited("relu(%c) : f32", "relu(%c) : i32"), "line 5, column 19",
              "is declared i32[1,4,6,6] but shape inference gives "
              "f32[1,4,6,6]");
}

TEST(IrParserErrors, BadToken) {
  expectError(edited("relu(%c) :", "relu(%c) # :"), "line 5, column 17",
              "expected ':' before the result types, found '#'");
}

TEST(IrParserErrors, GarbageAfterOp) {
  expectError(edited("relu(%c) : f32[1,4,6,6]", "relu(%c) : f32[1,4,6,6] x"),
              "line 5, column 32",
              "expected loc(\"...\") or end of line after the result types, "
              "found 'x'");
}

TEST(IrParserErrors, UnterminatedString) {
  expectError(edited("relu(%c) : f32[1,4,6,6]",
                     "relu(%c) : f32[1,4,6,6] loc(\"model.x)"),
              "line 5, column 36", "unterminated string");
}

TEST(IrParserErrors, UnknownEscape) {
  expectError(edited("relu(%c) : f32[1,4,6,6]",
                     "relu(%c) : f32[1,4,6,6] loc(\"a\\qb\")"),
              "line 5, column 38", "unknown escape '\\q'");
}

TEST(IrParserErrors, MissingClosingBrace) {
  expectError(edited("  return y = %r\n}\n", "  return y = %r\n"),
              "line 7, column 1",
              "expected '}' to close graph @t (line 1), found end of file");
}

TEST(IrParserErrors, IntegerOverflow) {
  expectError(edited("groups = 1", "groups = 9223372036854775808"),
              "line 4, column 54",
              "integer 9223372036854775808 is out of the int64 range");
}

TEST(IrParserErrors, DimensionOverflow) {
  expectError(edited("f32[1,3,8,8]", "f32[1,3,99999999999999999999,8]"),
              "line 1, column 22", "is out of the int64 range");
}

TEST(IrParserErrors, FloatOverflow) {
  expectError(edited("relu(%c)", "elu(%c) {alpha = 1e999}"),
              "line 5, column 25", "float 1e999 is out of the double range");
}

TEST(IrParserErrors, MalformedNumber) {
  expectError(edited("groups = 1", "groups = 1x"), "line 4, column 54",
              "malformed number '1x'");
}

TEST(IrParserErrors, BadElementType) {
  expectError(edited("%x: f32", "%x: f16"), "line 1, column 14",
              "expected the type of input %x (f32[...] or i32[...]), found "
              "'f16'");
}

TEST(IrParserErrors, ZeroDimension) {
  expectError(edited("weight @b : f32[4]", "weight @b : f32[0]"),
              "line 3, column 19", "dimensions must be >= 1, found 0");
}

TEST(IrParserErrors, IntInput) {
  expectError(edited("%x: f32", "%x: i32"), "line 1, column 14",
              "graph inputs must be f32, found i32[1,3,8,8]");
}

TEST(IrParserErrors, MissingReturn) {
  expectError(edited("  return y = %r\n", ""), "line 6, column 1",
              "expected 'return' before '}'");
}

TEST(IrParserErrors, ReturnOfUndefinedValue) {
  expectError(edited("return y = %r", "return y = %q"), "line 6, column 14",
              "undefined value %q");
}

TEST(IrParserErrors, ReturnOfWrongName) {
  expectError(edited("return y = %r", "return z = %r"), "line 6, column 10",
              "expected output 'y'");
}

TEST(IrParserErrors, ReturnOfWrongShape) {
  expectError(edited("-> (y: f32[1,4,6,6])", "-> (y: f32[1,4,6,5])"),
              "line 6, column 14",
              "output 'y' is declared f32[1,4,6,5] in the graph signature but "
              "%r is f32[1,4,6,6]");
}

TEST(IrParserErrors, ReturnMissesAnOutput) {
  expectError(
      edited("-> (y: f32[1,4,6,6])", "-> (y: f32[1,4,6,6], z: f32[1,4,6,6])"),
      "line 6, column 16",
      "return is missing output 'z' declared in the graph signature");
}

TEST(IrParserErrors, RankMismatchFromShapeInference) {
  // Located at the op's line and column, also when it has a loc(...).
  expectError(edited("relu(%c) : f32[1,4,6,6]",
                     "conv(%c, @b) {dilation = [1, 1], groups = 1, padding = "
                     "[0, 0, 0, 0], stride = [1, 1]} : f32[1,4,6,6] "
                     "loc(\"model.layers[1]\")"),
              "line 5, column 8",
              "conv: expected weight of rank 4, found shape [4]");
}

TEST(IrParserErrors, TransposePermNotAPermutation) {
  expectError(edited("relu(%c) : f32[1,4,6,6]",
                     "transpose(%c) {perm = [0, 2, 2, 1]} : f32[1,4,6,6]"),
              "line 5, column 8",
              "transpose: perm [0, 2, 2, 1] is not a permutation of the dims "
              "0..3 of the input shape [1, 4, 6, 6]");
  expectError(edited("relu(%c) : f32[1,4,6,6]",
                     "transpose(%c) {perm = [1, 0]} : f32[1,4,6,6]"),
              "line 5, column 8", "perm [1, 0] has 2 entries");
}

TEST(IrParserErrors, SliceRangeOutsideTheDim) {
  expectError(edited("relu(%c) : f32[1,4,6,6]",
                     "slice(%c) {dim = 1, end = 5, start = 2, step = 1} : "
                     "f32[1,3,6,6]"),
              "line 5, column 8",
              "slice: range [2, 5) is not a non-empty range within dim 1 "
              "(size 4)");
  expectError(edited("relu(%c) : f32[1,4,6,6]",
                     "slice(%c) {dim = 1, end = 4, start = 0, step = 0} : "
                     "f32[1,4,6,6]"),
              "line 5, column 8", "step must be >= 1, found 0");
}

TEST(IrParserErrors, MatmulShapesDoNotMultiply) {
  expectError(
      edited("relu(%c) : f32[1,4,6,6]", "matmul(%c, %x) : f32[1,4,6,8]"),
      "line 5, column 8",
      "matmul: shapes [1, 4, 6, 6] and [1, 3, 8, 8] cannot be "
      "multiplied: the last dim of the first operand (6) must equal "
      "the second-to-last dim of the second (8)");
}

TEST(IrParserErrors, WeightWithPercent) {
  expectError(edited("%x, @w, @b", "%x, %w, @b"), "line 4, column 17",
              "%w is a weight: write @w");
}

TEST(IrParserErrors, TooManyOperands) {
  expectError(edited("relu(%c)", "relu(%c, %x)"), "line 5, column 17",
              "relu takes at most 1 operands (input), found 2");
}

TEST(IrParserErrors, TooFewOperands) {
  expectError(edited("%x, @w, @b", "%x"), "line 4, column 15",
              "conv needs operand 'weight': expected at least 2 operands "
              "(input, weight, ");
}

TEST(IrParserErrors, OperandOfWrongElementType) {
  const char *text = R"(graph @t(%x: f32[1,2,4,4]) -> (y: f32[1,2,4,4]) {
  %p.0, %p.1 = max_pool_indices(%x) {ceil_mode = false, dilation = [1, 1], kernel = [2, 2], padding = [0, 0], stride = [2, 2]} : f32[1,2,2,2], i32[1,2,2,2]
  %u = max_unpool(%p.0, %p.0) {output_size = [4, 4]} : f32[1,2,4,4]
  return y = %u
})";
  expectError(text, "line 3, column 25",
              "operand 1 (indices) of max_unpool must be i32, found %p.0 of "
              "type f32[1,2,2,2]");
}

TEST(IrParserErrors, WrongNumberOfResults) {
  expectError(edited("%r = relu", "%r, %s = relu"), "line 5, column 3",
              "relu has 1 result, found 2 result names");
}

TEST(IrParserErrors, GraphNameNotAnIdentifier) {
  expectError(edited("graph @t(", "graph @int("), "line 1, column 7",
              "the graph name must be a C identifier");
}

TEST(IrParserErrors, NoOutputs) {
  expectError(edited("-> (y: f32[1,4,6,6])", "-> ()"), "line 1, column 32",
              "a graph needs at least one output");
}

TEST(IrParserErrors, WeightAfterOp) {
  expectError(edited("  return", "  weight @z : f32[1]\n  return"),
              "line 6, column 3", "weight lines must come before the first op");
}

TEST(IrParserErrors, TextAfterGraph) {
  expectError(std::string(kBase) + "graph @u() -> () {\n", "line 8, column 1",
              "expected the end of the file after the graph, found 'graph'");
}

TEST(IrParserErrors, WeightDataOfWrongSize) {
  ParseOptions po;
  po.weightData = [](const std::string &, const Shape &) {
    return std::make_shared<const std::vector<float>>(5, 0.0f);
  };
  expectError(kBase, "line 2, column 10",
              "the data given for weight @w has 5 floats, expected 108", po);
}

TEST(IrParserErrors, EmptyText) {
  expectError("// nothing\n\n", "line 3, column 1",
              "expected 'graph' to start the graph, found end of file");
}

} // namespace
} // namespace kiln
