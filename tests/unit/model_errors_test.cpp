// Error paths of the frontend: small bad models, each a valid model with one
// thing broken, must make kiln::loadModel throw a kiln::Error that names the
// right file (the model JSON or the safetensors file), the exact JSON path,
// and what was expected and found. Never a crash, never another exception
// type.
#include "frontend/model_loader.h"

#include "support/error.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "test_files.h"
#include "tiny_model.h"

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Valid models that the cases break.

/// Conv2d 3->4 k3 (8x8 -> 6x6), ReLU, MaxPool2d 2 (-> 3x3), flatten (36),
/// Linear 36->10. All parameters come from "init".
const char *const kBase = kTinyModel;

/// A model with one option selecting an entry of a ModuleDict.
const char *const kOptions = R"({
  "kiln": 1,
  "name": "choices",
  "inputs": [{"name": "x", "shape": [1, 4], "dtype": "float32"}],
  "init": {"seed": 0},
  "model": {
    "type": "Net",
    "options": {"act": {"values": ["relu", "prelu"], "default": "relu"}},
    "modules": {
      "fc": {"type": "Linear", "in_features": 4, "out_features": 4},
      "acts": {"type": "ModuleDict", "modules": {
        "relu": {"type": "ReLU"},
        "prelu": {"type": "PReLU"}
      }}
    },
    "forward": [
      {"out": "h", "call": "fc", "in": ["x"]},
      {"out": "y", "call": "acts.$act", "in": ["h"]},
      {"return": ["y"]}
    ]
  }
})";

/// kBase reading its parameters from weights.safetensors instead of "init".
const std::pair<std::string, std::string> kUseWeights = {
    R"("init": {"seed": 0},)", R"("weights": "weights.safetensors",)"};

/// Marks a text whose edit did not apply; the case then fails loudly.
const char *const kBadEdit = "@@EDIT-NOT-FOUND@@";

/// `base` with each `from` (which must occur exactly once) replaced by `to`.
std::string edited(const std::string &base,
                   const std::vector<std::pair<std::string, std::string>> &e) {
  std::string s = base;
  for (const auto &[from, to] : e) {
    size_t at = s.find(from);
    if (at == std::string::npos || s.find(from, at + 1) != std::string::npos)
      return std::string(kBadEdit) + " " + from;
    s.replace(at, from.size(), to);
  }
  return s;
}

// ---------------------------------------------------------------------------
// Safetensors files built in the test.

struct Tensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
};

/// 8-byte little-endian header length, header, data.
std::string rawSafetensors(const std::string &header, const std::string &data) {
  uint64_t n = header.size();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[size_t(i)] = char((n >> (8 * i)) & 0xFF);
  return bytes + header + data;
}

/// A well-formed file holding `tensors` in order (floats are 0.01).
std::string safetensors(const std::vector<Tensor> &tensors) {
  std::string header = "{", data;
  for (const Tensor &t : tensors) {
    size_t elemSize = t.dtype == "F32" || t.dtype == "I32" ? 4 : 8;
    size_t n = 1;
    std::string shape;
    for (int64_t d : t.shape) {
      n *= size_t(d);
      shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    }
    size_t begin = data.size();
    for (size_t i = 0; i < n; ++i) {
      if (t.dtype == "F32") {
        float f = 0.01f;
        char b[4];
        std::memcpy(b, &f, 4);
        data.append(b, 4);
      } else {
        data.append(elemSize, '\0');
      }
    }
    if (header.size() > 1)
      header += ", ";
    header += "\"" + t.name + "\": {\"dtype\": \"" + t.dtype +
              "\", \"shape\": [" + shape + "], \"data_offsets\": [" +
              std::to_string(begin) + ", " + std::to_string(data.size()) + "]}";
  }
  return rawSafetensors(header + "}", data);
}

/// kBase's parameters; `replace` swaps the entry of the same name.
std::vector<Tensor> baseTensors(const std::vector<Tensor> &replace = {},
                                const std::string &drop = "") {
  std::vector<Tensor> t = {{"features.conv1.weight", "F32", {4, 3, 3, 3}},
                           {"features.conv1.bias", "F32", {4}},
                           {"classifier.weight", "F32", {10, 36}},
                           {"classifier.bias", "F32", {10}}};
  std::vector<Tensor> out;
  for (Tensor &x : t) {
    if (x.name == drop)
      continue;
    for (const Tensor &r : replace)
      if (r.name == x.name)
        x = r;
    out.push_back(x);
  }
  return out;
}

std::string baseWeights() { return safetensors(baseTensors()); }

// ---------------------------------------------------------------------------
// Running a case.

using kiln::testing::writeFile;

/// A temporary directory for one test.
class TempDir : public kiln::testing::TempDir {
public:
  TempDir() : kiln::testing::TempDir("kiln-errors") {}
};

enum class File { Model, Weights };

struct Case {
  /// Test name.
  std::string name;
  /// The model JSON text.
  std::string json;
  /// Bytes of weights.safetensors beside the model; not written if empty.
  std::string weights;
  /// `-D` options.
  std::map<std::string, std::string> defines;
  /// Which file the error must name.
  File file;
  /// The exact location() expected.
  std::string location;
  /// Fragments message() must contain.
  std::vector<std::string> fragments;
};

/// Paths of the files a case writes.
struct Written {
  std::string model, weights;
};

Written writeCase(const TempDir &dir, const std::string &json,
                  const std::string &weights) {
  Written w{(dir.path() / "model.json").string(),
            (dir.path() / "weights.safetensors").string()};
  writeFile(w.model, json);
  if (!weights.empty())
    writeFile(w.weights, weights);
  return w;
}

bool samePath(const std::string &a, const std::string &b) {
  return fs::path(a).lexically_normal() == fs::path(b).lexically_normal();
}

/// Names the case in gtest's messages instead of dumping its bytes.
void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

class ModelErrors : public ::testing::TestWithParam<Case> {};

TEST_P(ModelErrors, Rejects) {
  const Case &c = GetParam();
  ASSERT_EQ(c.json.find(kBadEdit), std::string::npos)
      << "the case's edit does not apply to its base model: " << c.json;
  TempDir dir;
  ASSERT_FALSE(dir.path().empty()) << "cannot create a temporary directory";
  Written w = writeCase(dir, c.json, c.weights);
  kiln::LoadOptions options;
  options.defines = c.defines;
  std::string expectedFile = c.file == File::Model ? w.model : w.weights;
  try {
    std::vector<std::string> warnings;
    kiln::loadModel(w.model, options, &warnings);
    FAIL() << "the model loaded without an error";
  } catch (const kiln::Error &e) {
    EXPECT_TRUE(samePath(e.file(), expectedFile))
        << "names file \"" << e.file() << "\", expected \"" << expectedFile
        << "\"\n  error: " << e.what();
    EXPECT_EQ(e.location(), c.location) << "  error: " << e.what();
    for (const std::string &f : c.fragments)
      EXPECT_NE(e.message().find(f), std::string::npos)
          << "the message lacks \"" << f << "\"\n  error: " << e.what();
  } catch (const std::exception &e) {
    FAIL() << "threw " << typeid(e).name()
           << " instead of kiln::Error: " << e.what();
  }
}

std::vector<Case> cases() {
  const std::string base = kBase, opts = kOptions;
  const std::string conv = "model.modules.features.layers[0]";
  const std::string pool = "model.modules.features.layers[2]";
  const std::string withWeights = edited(base, {kUseWeights});
  using F = File;
  return {
      // --- JSON syntax: line and column of the offending character.
      {"InvalidJsonTrailingComma",
       "{\n  \"kiln\": 1,\n  \"name\": \"tiny\",\n}\n",
       "",
       {},
       F::Model,
       "line 4, column 1",
       {"invalid JSON", "'}'"}},
      {"InvalidJsonDoubleComma",
       "{\n  \"kiln\": 1,,\n  \"name\": \"tiny\"\n}\n",
       "",
       {},
       F::Model,
       "line 2, column 13",
       {"invalid JSON", "','"}},
      {"InvalidJsonMissingCommaInList",
       edited(base, {{R"("shape": [1, 3, 8, 8])", R"("shape": [1, 3, 8 8])"}}),
       "",
       {},
       F::Model,
       "line 4, column 46",
       {"invalid JSON"}},
      {"InvalidJsonBadLiteral",
       edited(base, {{R"("dtype": "float32")", R"("dtype": float32)"}}),
       "",
       {},
       F::Model,
       "line 4, column 61",
       {"invalid JSON", "literal"}},
      // For a token of several characters (here the key "name" after a
      // missing comma), the column is that of the token's start.
      {"InvalidJsonMissingCommaPointsAtTokenStart",
       "{\n  \"kiln\": 1\n  \"name\": \"tiny\"\n}\n",
       "",
       {},
       F::Model,
       "line 3, column 3",
       {"invalid JSON"}},
      // A number out of double's range (nlohmann's out_of_range 406) is an
      // invalid-JSON error at the number's start, not a crash.
      {"InvalidJsonNumberOverflow",
       "{\n  \"kiln\": 1e400\n}\n",
       "",
       {},
       F::Model,
       "line 2, column 11",
       {"invalid JSON", "1e400"}},
      // A NUL byte is refused (nlohmann's lexer would take it for the end of
      // the input and ignore what follows).
      {"InvalidJsonNulByte",
       base + std::string("\0 trailing garbage", 18),
       "",
       {},
       F::Model,
       "line 23, column 2",
       {"invalid JSON"}},
      {"InvalidJsonTruncated",
       "{\n  \"kiln\": 1,\n  \"name\": \"tiny\"",
       "",
       {},
       F::Model,
       "line 3, column 17",
       {"invalid JSON", "end of input"}},
      {"InvalidJsonEmptyFile",
       "",
       "",
       {},
       F::Model,
       "line 1, column 1",
       {"invalid JSON", "end of input"}},
      {"TopLevelNotAnObject",
       "[1, 2]",
       "",
       {},
       F::Model,
       "(top level)",
       {"expected an object", "list"}},
      // A duplicate key is located at the key itself, like unknown keys and
      // the safetensors reader's duplicates.
      {"DuplicateTopLevelKey",
       edited(base,
              {{R"("name": "tiny",)", R"("name": "tiny", "name": "tiny2",)"}}),
       "",
       {},
       F::Model,
       "name",
       {"duplicate key \"name\""}},
      {"DuplicateLayerKey",
       edited(base, {{R"("kernel_size": 3})",
                      R"("kernel_size": 3, "kernel_size": 5})"}}),
       "",
       {},
       F::Model,
       conv + ".kernel_size",
       {"duplicate key \"kernel_size\""}},

      // --- Top level.
      {"UnknownTopLevelKey",
       edited(base, {{R"("init": {"seed": 0},)",
                      R"("init": {"seed": 0}, "wieghts": "w.safetensors",)"}}),
       "",
       {},
       F::Model,
       "wieghts",
       {"unknown key \"wieghts\"", "did you mean \"weights\""}},
      {"VersionNotOne",
       edited(base, {{R"("kiln": 1,)", R"("kiln": 2,)"}}),
       "",
       {},
       F::Model,
       "kiln",
       {"version 1", "integer 2"}},
      {"VersionAsString",
       edited(base, {{R"("kiln": 1,)", R"("kiln": "1",)"}}),
       "",
       {},
       F::Model,
       "kiln",
       {"version 1", "string \"1\""}},
      {"NameNotAnIdentifier",
       edited(base, {{R"("name": "tiny",)", R"("name": "tiny-net",)"}}),
       "",
       {},
       F::Model,
       "name",
       {"C identifier", "\"tiny-net\""}},
      {"NameIsAKeyword",
       edited(base, {{R"("name": "tiny",)", R"("name": "class",)"}}),
       "",
       {},
       F::Model,
       "name",
       {"keyword", "\"class\""}},
      {"NameMissing",
       edited(base, {{R"("name": "tiny",)", ""}}),
       "",
       {},
       F::Model,
       "name",
       {"missing", "\"name\""}},
      {"InputDtypeNotFloat32",
       edited(base, {{R"("dtype": "float32")", R"("dtype": "float16")"}}),
       "",
       {},
       F::Model,
       "inputs[0].dtype",
       {"float32", "float16"}},
      {"InputShapeBelowOne",
       edited(base, {{R"("shape": [1, 3, 8, 8])", R"("shape": [1, 0, 8, 8])"}}),
       "",
       {},
       F::Model,
       "inputs[0].shape",
       {">= 1", "[1,0,8,8]"}},
      {"InputUnknownKey",
       edited(base, {{R"("shape": [1, 3, 8, 8])", R"("shap": [1, 3, 8, 8])"}}),
       "",
       {},
       F::Model,
       "inputs[0].shap",
       {"unknown key \"shap\"", "did you mean \"shape\""}},
      {"InitUnknownKey",
       edited(base, {{R"("init": {"seed": 0},)", R"("init": {"sead": 0},)"}}),
       "",
       {},
       F::Model,
       "init.sead",
       {"unknown key \"sead\"", "did you mean \"seed\""}},
      {"InitSeedNotAnInteger",
       edited(base, {{R"("init": {"seed": 0},)", R"("init": {"seed": "0"},)"}}),
       "",
       {},
       F::Model,
       "init.seed",
       {"expected an integer", "string \"0\""}},

      // --- Modules and layer arguments.
      {"UnknownLayerType",
       edited(base, {{R"("type": "Conv2d")", R"("type": "Conv2D")"}}),
       "",
       {},
       F::Model,
       conv + ".type",
       {"unknown layer type \"Conv2D\"", "did you mean \"Conv2d\""}},
      {"UnknownLayerKey",
       edited(base, {{R"("kernel_size": 3})", R"("kernel_sise": 3})"}}),
       "",
       {},
       F::Model,
       conv + ".kernel_sise",
       {"unknown key \"kernel_sise\"", "did you mean \"kernel_size\""}},
      {"OptionsOnAChildModule",
       edited(base, {{R"("features": {"type": "Sequential",)",
                      R"("features": {"type": "Sequential", "options": {},)"}}),
       "",
       {},
       F::Model,
       "model.modules.features.options",
       {"unknown key \"options\""}},
      {"MissingArgument",
       edited(base, {{R"("out_channels": 4, )", ""}}),
       "",
       {},
       F::Model,
       conv,
       {"missing required argument \"out_channels\"", "Conv2d"}},
      {"ArgumentIsAString",
       edited(base, {{R"("kernel_size": 3})", R"("kernel_size": "3"})"}}),
       "",
       {},
       F::Model,
       conv + ".kernel_size",
       {"expected an integer or a list of 2 integers", "string \"3\""}},
      {"ArgumentListOfWrongLength",
       edited(base, {{R"("kernel_size": 3})", R"("kernel_size": [3, 3, 3]})"}}),
       "",
       {},
       F::Model,
       conv + ".kernel_size",
       {"list of 2 integers", "list of 3 entries"}},
      {"ArgumentNotABool",
       edited(base, {{R"("kernel_size": 3})",
                      R"("kernel_size": 3, "bias": "yes"})"}}),
       "",
       {},
       F::Model,
       conv + ".bias",
       {"true or false", "string \"yes\""}},
      {"ArgumentNotAnInteger",
       edited(base, {{R"("in_features": 36)", R"("in_features": 36.5)"}}),
       "",
       {},
       F::Model,
       "model.modules.classifier.in_features",
       {"expected an integer", "36.5"}},
      {"ArgumentNotAChoice",
       edited(base, {{R"("kernel_size": 3})",
                      R"("kernel_size": 3, "padding_mode": "zero"})"}}),
       "",
       {},
       F::Model,
       conv + ".padding_mode",
       {"expected one of", "did you mean \"zeros\""}},
      {"ConvTransposePaddingModeNotZeros",
       edited(
           base,
           {{R"({"name": "pool1", "type": "MaxPool2d", "kernel_size": 2})",
             R"({"name": "up", "type": "ConvTranspose2d", "in_channels": 4, )"
             R"("out_channels": 4, "kernel_size": 2, "padding_mode": "reflect"})"}}),
       "",
       {},
       F::Model,
       pool + ".padding_mode",
       {"\"zeros\"", "\"reflect\""}},
      {"StrideBelowOne",
       edited(base,
              {{R"("kernel_size": 3})", R"("kernel_size": 3, "stride": 0})"}}),
       "",
       {},
       F::Model,
       conv + ".stride",
       {"stride", ">= 1"}},
      {"PaddingSameWithStride",
       edited(base, {{R"("kernel_size": 3})",
                      R"("kernel_size": 3, "padding": "same", "stride": 2})"}}),
       "",
       {},
       F::Model,
       conv + ".padding",
       {"\"same\"", "stride 1"}},
      {"DuplicateLayerName",
       edited(base, {{R"("name": "relu1")", R"("name": "conv1")"}}),
       "",
       {},
       F::Model,
       "model.modules.features.layers[1].name",
       {"duplicate layer name \"conv1\""}},

      // --- Shapes and channels.
      {"ConvOutputBelowOne",
       edited(base, {{R"("kernel_size": 3})", R"("kernel_size": 9})"}}),
       "",
       {},
       F::Model,
       conv,
       {"below 1", "input size 8", "kernel span 9"}},
      // A shape error names the input shape the module received.
      {"ConvOutputBelowOneNamesInputShape",
       edited(base, {{R"("kernel_size": 3})", R"("kernel_size": 9})"}}),
       "",
       {},
       F::Model,
       conv,
       {"below 1", "[1, 3, 8, 8]"}},
      {"PoolOutputBelowOne",
       edited(base, {{R"("kernel_size": 2})", R"("kernel_size": 7})"}}),
       "",
       {},
       F::Model,
       pool,
       {"input size 6", "output size would be 0"}},
      {"ConvChannelsDoNotMatch",
       edited(base, {{R"("in_channels": 3)", R"("in_channels": 4)"}}),
       "",
       {},
       F::Model,
       conv,
       {"[1, 3, 8, 8]", "in_channels = 4"}},
      {"LinearFeaturesDoNotMatch",
       edited(base, {{R"("in_features": 36)", R"("in_features": 35)"}}),
       "",
       {},
       F::Model,
       "model.modules.classifier",
       {"[1, 36]", "in_features = 35"}},
      {"GroupsDoNotDivideChannels",
       edited(base,
              {{R"("kernel_size": 3})", R"("kernel_size": 3, "groups": 2})"}}),
       "",
       {},
       F::Model,
       conv + ".groups",
       {"groups 2 must divide", "in_channels 3"}},
      {"PoolPaddingAboveHalfKernel",
       edited(base,
              {{R"("kernel_size": 2})", R"("kernel_size": 2, "padding": 2})"}}),
       "",
       {},
       F::Model,
       pool + ".padding",
       {"padding 2", "half the kernel"}},
      {"ConvTransposeOutputPaddingNotBelowStride",
       edited(
           base,
           {{R"({"name": "pool1", "type": "MaxPool2d", "kernel_size": 2})",
             R"({"name": "up", "type": "ConvTranspose2d", "in_channels": 4, )"
             R"("out_channels": 4, "kernel_size": 2, "stride": 2, )"
             R"("output_padding": 2})"}}),
       "",
       {},
       F::Model,
       pool,
       {"output_padding 2", "stride 2"}},
      {"ViewWrongElementCount",
       edited(base, {{R"("op": "flatten", "in": ["h"], "start_dim": 1)",
                      R"("op": "view", "in": ["h"], "shape": [1, 35])"}}),
       "",
       {},
       F::Model,
       "model.forward[1].shape",
       {"[1,35]", "36 elements", "[1, 4, 3, 3]"}},
      {"ReshapeTwoInferredDims",
       edited(base, {{R"("op": "flatten", "in": ["h"], "start_dim": 1)",
                      R"("op": "reshape", "in": ["h"], "shape": [-1, -1])"}}),
       "",
       {},
       F::Model,
       "model.forward[1].shape",
       {"only one dimension may be -1"}},
      // --- Shape ops and matmul (h is [1, 4, 3, 3]): PyTorch's dim and
      // count rules, located at the argument (or `out`).
      {"SqueezeDimOutOfRange",
       edited(base,
              {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
                R"({"out": "f", "op": "squeeze", "in": ["h"], "dim": 4})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].dim",
       {"dim 4 is out of range", "[1, 4, 3, 3]", "[-4, 3]"}},
      {"SqueezeDimTwice",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": "f", "op": "squeeze", "in": ["h"], "dim": [0, -4]})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].dim",
       {"dim -4 appears more than once", "[0,-4]"}},
      {"UnsqueezeDimOutOfRange",
       edited(base,
              {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
                R"({"out": "f", "op": "unsqueeze", "in": ["h"], "dim": -6})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].dim",
       {"dim -6 is out of range", "[-5, 4]"}},
      {"PermuteDuplicateDim",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": "f", "op": "permute", "in": ["h"], "dims": [0, 1, -3, 2]})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].dims",
       {"names dim 1 twice", "[0,1,-3,2]", "permutation"}},
      {"PermuteWrongLength",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": "f", "op": "permute", "in": ["h"], "dims": [0, 2, 1]})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].dims",
       {"has 3 entries", "[1, 4, 3, 3]", "rank 4"}},
      {"PermuteDimOutOfRange",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": "f", "op": "permute", "in": ["h"], "dims": [0, 1, 2, 4]})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].dims[3]",
       {"dim 4 is out of range", "[-4, 3]"}},
      {"TransposeDim1OutOfRange",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": "f", "op": "transpose", "in": ["h"], "dim0": 0, "dim1": -5})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].dim1",
       {"dim1 -5 is out of range", "[1, 4, 3, 3]"}},
      {"MatmulInnerDimsMismatch",
       edited(base,
              {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
                R"({"out": "f", "op": "matmul", "in": ["h", "x"]})"}}),
       "",
       {},
       F::Model,
       "model.forward[1]",
       {"matmul: shapes [1, 4, 3, 3] and [1, 3, 8, 8] cannot be multiplied",
        "(3)", "(8)"}},
      {"MatmulBatchDimsDoNotBroadcast",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": "g", "op": "permute", "in": ["h"], "dims": [0, 2, 3, 1]}, {"out": "f", "op": "matmul", "in": ["h", "g"]})"}}),
       "",
       {},
       F::Model,
       "model.forward[2]",
       {"batch dims", "[1, 4, 3, 3] and [1, 3, 3, 4]", "4 vs 3"}},
      {"MatmulOfZeroD",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": "s", "op": "sum", "in": ["h"]}, {"out": "f", "op": "matmul", "in": ["s", "h"]})"}}),
       "",
       {},
       F::Model,
       "model.forward[2]",
       {"at least one dim", "[] and [1, 4, 3, 3]"}},
      {"ChunkOutputCountMismatch",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": ["f", "f2", "f3", "f4"], "op": "chunk", "in": ["h"], "chunks": 4, "dim": 2})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].out",
       {"chunks=4", "ceil(3/4) = 1", "gives 3 piece(s)", "[1, 1, 1]",
        "names 4"}},
      {"ChunksZero",
       edited(base,
              {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
                R"({"out": ["f"], "op": "chunk", "in": ["h"], "chunks": 0})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].chunks",
       {"chunks must be >= 1", "found 0"}},
      {"ChunkOfZeroD",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": "s", "op": "sum", "in": ["h"]}, {"out": ["f"], "op": "chunk", "in": ["s"], "chunks": 1})"}}),
       "",
       {},
       F::Model,
       "model.forward[2]",
       {"chunk: expects an input of at least one dim", "0-d"}},
      {"SplitSectionsDoNotSum",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": ["f", "f2"], "op": "split", "in": ["h"], "split_size_or_sections": [1, 2], "dim": 1})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].split_size_or_sections",
       {"sum to 3", "[1, 4, 3, 3]", ", 4"}},
      {"SplitZeroSection",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": ["f", "f2"], "op": "split", "in": ["h"], "split_size_or_sections": [0, 4], "dim": 1})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].split_size_or_sections[0]",
       {"size 0 is not supported"}},
      {"SplitSizeZero",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": ["f"], "op": "split", "in": ["h"], "split_size_or_sections": 0})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].split_size_or_sections",
       {"split_size must be >= 1", "found 0"}},
      {"SplitOutputCountMismatch",
       edited(
           base,
           {{R"({"out": "f", "op": "flatten", "in": ["h"], "start_dim": 1})",
             R"({"out": ["f", "f2"], "op": "split", "in": ["h"], "split_size_or_sections": 3, "dim": -1})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].out",
       {"split_size=3", "gives 1 piece(s)", "names 2"}},
      // Sizes beyond int32 are refused at the argument, before any
      // arithmetic on them can overflow.
      {"PoolKernelSizeOutOfRange",
       edited(base, {{R"("kernel_size": 2})",
                      R"("kernel_size": 4611686018427387904, "dilation": 4})"},
                     {R"("in_features": 36)", R"("in_features": 4)"}}),
       "",
       {},
       F::Model,
       pool + ".kernel_size",
       {"2^31", "4611686018427387904"}},
      // A parameter over the 2^31 - 1 element limit is refused before
      // anything is allocated.
      {"ParameterOverElementLimit",
       edited(base,
              {{R"("out_features": 10)", R"("out_features": 2000000000)"}}),
       "",
       {},
       F::Model,
       "model.modules.classifier",
       {"elements", "2^31 - 1"}},

      // --- Forward steps.
      {"UndefinedValue",
       edited(base, {{R"("op": "flatten", "in": ["h"])",
                      R"("op": "flatten", "in": ["hh"])"}}),
       "",
       {},
       F::Model,
       "model.forward[1].in[0]",
       {"\"hh\" is not defined", "did you mean \"h\""}},
      {"UndefinedModule",
       edited(base, {{R"("call": "features")", R"("call": "feature")"}}),
       "",
       {},
       F::Model,
       "model.forward[0].call",
       {"no module \"feature\"", "did you mean \"features\""}},
      {"UndefinedNestedModule",
       edited(base, {{R"("call": "features")", R"("call": "features.conv2")"}}),
       "",
       {},
       F::Model,
       "model.forward[0].call",
       {"no module \"conv2\"", "did you mean \"conv1\""}},
      {"UnknownOp",
       edited(base, {{R"("op": "flatten")", R"("op": "flaten")"}}),
       "",
       {},
       F::Model,
       "model.forward[1].op",
       {"unknown op \"flaten\"", "did you mean \"flatten\""}},
      {"UnknownOpArgument",
       edited(base, {{R"("start_dim": 1})", R"("start_dims": 1})"}}),
       "",
       {},
       F::Model,
       "model.forward[1].start_dims",
       {"unknown key \"start_dims\"", "did you mean \"start_dim\""}},
      {"UnknownCallStepKey",
       edited(base, {{R"("call": "features", "in": ["x"])",
                      R"("call": "features", "inn": ["x"])"}}),
       "",
       {},
       F::Model,
       "model.forward[0].inn",
       {"unknown key \"inn\"", "did you mean \"in\""}},
      // A misspelt "op" is named as an unknown key with the nearest one.
      {"MisspeltOpKey",
       edited(base, {{R"("op": "flatten")", R"("opp": "flatten")"}}),
       "",
       {},
       F::Model,
       "model.forward[1].opp",
       {"unknown key \"opp\"", "did you mean \"op\""}},
      {"OpWrongInputCount",
       edited(base, {{R"("op": "flatten", "in": ["h"])",
                      R"("op": "flatten", "in": ["h", "h"])"}}),
       "",
       {},
       F::Model,
       "model.forward[1]",
       {"flatten takes 1 input(s), found 2"}},
      {"ValueNameStartsWithDollar",
       edited(base, {{R"({"out": "h",)", R"({"out": "$h",)"}}),
       "",
       {},
       F::Model,
       "model.forward[0].out",
       {"expected a name", "\"$h\""}},
      {"ReturnNotLast",
       edited(base, {{R"({"out": "y", "call": "classifier", "in": ["f"]})",
                      R"({"return": ["f"]})"},
                     {R"({"return": ["y"]})",
                      R"({"out": "y", "call": "classifier", "in": ["f"]})"}}),
       "",
       {},
       F::Model,
       "model.forward[2]",
       {"\"return\" must be the last step"}},
      {"NoReturn",
       edited(base, {{R"({"return": ["y"]})",
                      R"({"out": "z", "op": "flatten", "in": ["y"]})"}}),
       "",
       {},
       F::Model,
       "model.forward",
       {"no \"return\""}},
      {"ReturnUndefinedValue",
       edited(base, {{R"({"return": ["y"]})", R"({"return": ["yy"]})"}}),
       "",
       {},
       F::Model,
       "model.forward[3].return[0]",
       {"\"yy\"", "not defined"}},
      {"ModuleDictCalledWhole",
       edited(
           base,
           {{R"("classifier": {"type": "Linear", "in_features": 36, "out_features": 10})",
             R"("classifier": {"type": "ModuleDict", "modules": {"fc": )"
             R"({"type": "Linear", "in_features": 36, "out_features": 10}}})"}}),
       "",
       {},
       F::Model,
       "model.forward[2]",
       {"\"classifier\" is a ModuleDict", "\"classifier.KEY\""}},

      // --- Options.
      {"OptionUnknownDefine",
       opts,
       "",
       {{"actt", "relu"}},
       F::Model,
       "model.options",
       {"unknown option \"actt\"", "\"act\""}},
      {"OptionDefineWithoutOptions",
       base,
       "",
       {{"act", "relu"}},
       F::Model,
       "model.options",
       {"unknown option \"act\"", "declares none"}},
      {"OptionInvalidValue",
       opts,
       "",
       {{"act", "gelu"}},
       F::Model,
       "model.options.act",
       {"invalid value \"gelu\"", "\"relu\", \"prelu\""}},
      {"OptionDeclaredButUnused",
       edited(opts, {{R"("call": "acts.$act")", R"("call": "acts.relu")"}}),
       "",
       {},
       F::Model,
       "model.options.act",
       {"\"act\"", "not used"}},
      {"OptionUnknownInCallPath",
       edited(opts, {{R"("call": "acts.$act")", R"("call": "acts.$actt")"}}),
       "",
       {},
       F::Model,
       "model.forward[1].call",
       {"unknown option \"$actt\"", "\"act\""}},
      {"OptionDefaultNotAValue",
       edited(opts, {{R"("default": "relu")", R"("default": "gelu")"}}),
       "",
       {},
       F::Model,
       "model.options.act.default",
       {"\"gelu\"", "\"relu\", \"prelu\""}},
      {"OptionUnknownKey",
       edited(opts, {{R"("default": "relu")", R"("defualt": "relu")"}}),
       "",
       {},
       F::Model,
       "model.options.act.defualt",
       {"unknown key \"defualt\"", "did you mean \"default\""}},
      {"OptionSelectsMissingEntry",
       edited(opts, {{R"(["relu", "prelu"])", R"(["relu", "prelu", "gelu"])"}}),
       "",
       {{"act", "gelu"}},
       F::Model,
       "model.forward[1].call",
       {"no module \"gelu\"", "\"relu\", \"prelu\""}},

      // --- Parameters and the weights file.
      {"ParameterWithoutWeightsOrInit",
       edited(base, {{R"("init": {"seed": 0},)", ""}}),
       "",
       {},
       F::Model,
       conv,
       {"\"features.conv1.weight\"", "[4, 3, 3, 3]", "\"init\""}},
      // These four: a weights-file tensor error is located at the bare
      // state_dict key (`features.conv1.weight: expected shape ...`), as
      // docs/model-format.md documents and SafetensorsFile uses.
      {"WeightMissingFromFile",
       withWeights,
       safetensors(baseTensors({}, "classifier.bias")),
       {},
       F::Weights,
       "classifier.bias",
       {"missing", "[10]"}},
      {"WeightWrongShape",
       withWeights,
       safetensors(
           baseTensors({{"features.conv1.weight", "F32", {4, 3, 2, 2}}})),
       {},
       F::Weights,
       "features.conv1.weight",
       {"[4, 3, 3, 3]", "[4, 3, 2, 2]"}},
      {"WeightExtraUnitDim",
       withWeights,
       safetensors(baseTensors({{"classifier.bias", "F32", {1, 10}}})),
       {},
       F::Weights,
       "classifier.bias",
       {"expected shape [10]", "found [1, 10]"}},
      {"WeightIntegerDtype",
       withWeights,
       safetensors(baseTensors({{"classifier.bias", "I32", {10}}})),
       {},
       F::Weights,
       "classifier.bias",
       {"floating-point", "I32"}},
      {"WeightsFileMissing",
       withWeights,
       "",
       {},
       F::Weights,
       "",
       {"no such file"}},
      {"SafetensorsShorterThanHeaderLength",
       withWeights,
       std::string("\x05\x00\x00", 3),
       {},
       F::Weights,
       "",
       {"3 bytes long", "8-byte header length"}},
      {"SafetensorsHeaderLengthBeyondFile",
       withWeights,
       rawSafetensors("{}", "").replace(0, 1, "\xE8"),
       {},
       F::Weights,
       "header length",
       {"232 bytes", "only 2 bytes follow"}},
      {"SafetensorsHeaderNotJson",
       withWeights,
       rawSafetensors(R"({"classifier.bias": {"dtype": "F32", )", ""),
       {},
       F::Weights,
       "header",
       {"not valid JSON"}},
      {"SafetensorsTruncatedData",
       withWeights,
       baseWeights().substr(0, baseWeights().size() - 4),
       {},
       F::Weights,
       "header.\"classifier.bias\".data_offsets",
       {"beyond the end of the data section"}},
      {"SafetensorsTrailingBytes",
       withWeights,
       baseWeights() + std::string(4, '\0'),
       {},
       F::Weights,
       "data section",
       {"belong to no tensor"}},
      {"SafetensorsDuplicateTensor",
       withWeights,
       rawSafetensors(
           R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, )"
           R"("a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
           std::string(8, '\0')),
       {},
       F::Weights,
       "header.a",
       {"duplicate key \"a\""}},
      {"SafetensorsUnknownDtype",
       withWeights,
       rawSafetensors(
           R"({"a": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}})",
           std::string(1, '\0')),
       {},
       F::Weights,
       "header.a.dtype",
       {"\"F8\"", "F32"}},
  };
}

INSTANTIATE_TEST_SUITE_P(Errors, ModelErrors, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------
// GroupNorm, LayerNorm, Upsample / interpolate and module-owned parameters.

/// GroupNorm(2, 4), a module-owned parameter `scale` (initialised by its
/// rule) in a mul, LayerNorm([6, 6]), Upsample x2 bilinear, interpolate to
/// [5, 7] (nearest).
const char *const kNorms = R"({
  "kiln": 1,
  "name": "norms",
  "inputs": [{"name": "x", "shape": [1, 4, 6, 6], "dtype": "float32"}],
  "init": {"seed": 0},
  "model": {
    "type": "Net",
    "parameters": {"scale": [1, 4, 1, 1]},
    "initializers": {"scale": {"scheme": "ones"}},
    "modules": {
      "gn": {"type": "GroupNorm", "num_groups": 2, "num_channels": 4},
      "ln": {"type": "LayerNorm", "normalized_shape": [6, 6]},
      "up": {"type": "Upsample", "scale_factor": 2, "mode": "bilinear"}
    },
    "forward": [
      {"out": "g", "call": "gn", "in": ["x"]},
      {"out": "s", "op": "mul", "in": ["g", "scale"]},
      {"out": "l", "call": "ln", "in": ["s"]},
      {"out": "u", "call": "up", "in": ["l"]},
      {"out": "y", "op": "interpolate", "in": ["u"], "size": [5, 7]},
      {"return": ["y"]}
    ]
  }
})";

/// The tensors of kNorms's layers (GroupNorm and LayerNorm affine).
std::vector<Tensor> normsTensors() {
  return {{"gn.weight", "F32", {4}},
          {"gn.bias", "F32", {4}},
          {"ln.weight", "F32", {6, 6}},
          {"ln.bias", "F32", {6, 6}}};
}

std::vector<Case> normCases() {
  const std::string base = kNorms;
  const std::pair<std::string, std::string> noRule = {
      R"("initializers": {"scale": {"scheme": "ones"}},)", ""};
  const std::pair<std::string, std::string> useWeights = {
      R"("init": {"seed": 0},)", R"("weights": "weights.safetensors",)"};
  const std::string step4 =
      R"({"out": "y", "op": "interpolate", "in": ["u"], "size": [5, 7]})";
  std::vector<Tensor> withScale = normsTensors();
  withScale.push_back({"scale", "F32", {4}});
  using F = File;
  return {
      // --- Upsample / interpolate
      {"UpsampleSizeAndScaleFactor",
       edited(base,
              {{R"("scale_factor": 2,)", R"("scale_factor": 2, "size": 9,)"}}),
       "",
       {},
       F::Model,
       "model.modules.up",
       {"exactly one of size and scale_factor", "found both"}},
      {"InterpolateNeitherSizeNorScaleFactor",
       edited(base, {{R"("in": ["u"], "size": [5, 7]})", R"("in": ["u"]})"}}),
       "",
       {},
       F::Model,
       "model.forward[4]",
       {"exactly one of size and scale_factor", "found neither"}},
      {"InterpolateAlignCornersWithNearest",
       edited(base, {{R"("size": [5, 7]})",
                      R"("size": [5, 7], "align_corners": false})"}}),
       "",
       {},
       F::Model,
       "model.forward[4].align_corners",
       {"only be set with mode \"bilinear\"", "align_corners false",
        "mode \"nearest\""}},
      {"InterpolateBilinearOn3dInput",
       edited(base,
              {{step4,
                R"({"out": "f", "op": "flatten", "in": ["u"], "start_dim": 2},
                   {"out": "y", "op": "interpolate", "in": ["f"], "size": 5, "mode": "bilinear"})"}}),
       "",
       {},
       F::Model,
       "model.forward[5].mode",
       {"\"bilinear\" needs a 4-d input", "[1, 4, 144]"}},
      {"InterpolateRankTwoInput",
       edited(base,
              {{step4,
                R"({"out": "f", "op": "flatten", "in": ["u"], "start_dim": 1},
                   {"out": "y", "op": "interpolate", "in": ["f"], "size": 5})"}}),
       "",
       {},
       F::Model,
       "model.forward[5]",
       {"rank 3 to 5", "[1, 576]"}},
      {"InterpolateSizeListOfWrongLength",
       edited(base, {{R"("size": [5, 7]})", R"("size": [5, 7, 2]})"}}),
       "",
       {},
       F::Model,
       "model.forward[4].size",
       {"expected 2 sizes", "[1, 4, 12, 12]", "[5,7,2]"}},
      {"InterpolateSizeZero",
       edited(base, {{R"("size": [5, 7]})", R"("size": [5, 0]})"}}),
       "",
       {},
       F::Model,
       "model.forward[4].size",
       {"between 1 and 2^31 - 1", "[5,0]"}},
      {"UpsampleScaleFactorGivesSizeZero",
       edited(base, {{R"("scale_factor": 2,)", R"("scale_factor": 0.1,)"}}),
       "",
       {},
       F::Model,
       "model.modules.up.scale_factor",
       {"floor(6 * 0.1) = 0", "spatial dim 0", "[1, 4, 6, 6]"}},
      {"UpsampleNegativeScaleFactor",
       edited(base, {{R"("scale_factor": 2,)", R"("scale_factor": [2, -1],)"}}),
       "",
       {},
       F::Model,
       "model.modules.up.scale_factor",
       {"finite and > 0", "[2,-1]"}},
      {"UpsampleUnknownMode",
       edited(base, {{R"("mode": "bilinear")", R"("mode": "bicubic")"}}),
       "",
       {},
       F::Model,
       "model.modules.up.mode",
       {"\"nearest\"", "\"bilinear\"", "\"bicubic\""}},
      {"UpsampleRecomputeWithSize",
       edited(base, {{R"("scale_factor": 2,)",
                      R"("size": 12, "recompute_scale_factor": true,)"}}),
       "",
       {},
       F::Model,
       "model.modules.up.recompute_scale_factor",
       {"not meaningful with an explicit size"}},
      // --- GroupNorm / LayerNorm
      {"GroupNormGroupsDoNotDivideChannels",
       edited(base, {{R"("num_groups": 2)", R"("num_groups": 3)"}}),
       "",
       {},
       F::Model,
       "model.modules.gn.num_groups",
       {"num_channels 4 must be divisible by num_groups",
        "found num_groups 3"}},
      {"GroupNormChannelsDoNotMatchInput",
       edited(base, {{R"("num_groups": 2, "num_channels": 4)",
                      R"("num_groups": 2, "num_channels": 6)"}}),
       "",
       {},
       F::Model,
       "model.modules.gn",
       {"[1, 4, 6, 6]", "num_channels = 6"}},
      {"GroupNormOneValuePerGroup",
       edited(base, {{R"("shape": [1, 4, 6, 6])", R"("shape": [1, 4, 1, 1])"},
                     {R"("num_groups": 2)", R"("num_groups": 4)"}}),
       "",
       {},
       F::Model,
       "model.modules.gn",
       {"single value per group and sample", "[1, 4, 1, 1]", "num_groups 4"}},
      {"LayerNormShapeNotTrailingDims",
       edited(base, {{R"("normalized_shape": [6, 6])",
                      R"("normalized_shape": [4, 6])"}}),
       "",
       {},
       F::Model,
       "model.modules.ln.normalized_shape",
       {"expected an input of shape [*, 4, 6]", "found shape [1, 4, 6, 6]"}},
      {"LayerNormShapeLongerThanInput",
       edited(base, {{R"("normalized_shape": [6, 6])",
                      R"("normalized_shape": [1, 1, 4, 6, 6])"}}),
       "",
       {},
       F::Model,
       "model.modules.ln.normalized_shape",
       {"[*, 1, 1, 4, 6, 6]", "[1, 4, 6, 6]"}},
      {"LayerNormNegativeEps",
       edited(base, {{R"("normalized_shape": [6, 6])",
                      R"("normalized_shape": [6, 6], "eps": -1)"}}),
       "",
       {},
       F::Model,
       "model.modules.ln.eps",
       {">= 0", "-1"}},
      {"LayerNormFunctionalWeightShape",
       edited(
           base,
           {{step4,
             R"({"out": "y", "op": "layer_norm", "in": ["u", "scale"], "normalized_shape": [12]})"}}),
       "",
       {},
       F::Model,
       "model.forward[4].in[1]",
       {"weight of shape [1, 4, 1, 1]", "normalized_shape [12]"}},
      // --- parameters owned by a user module
      {"ParameterNameClashesWithStepResult",
       edited(base, {{R"({"out": "s", "op": "mul")",
                      R"({"out": "scale", "op": "mul")"}}),
       "",
       {},
       F::Model,
       "model.forward[1].out",
       {"\"scale\" is a parameter of this module", "one namespace"}},
      {"ParameterNameClashesWithInput",
       edited(base, {{R"("parameters": {"scale": [1, 4, 1, 1]},)",
                      R"("parameters": {"scale": [1, 4, 1, 1], "x": [4]},)"}}),
       "",
       {},
       F::Model,
       "model.parameters.x",
       {"parameter \"x\" has the name of an input", "one namespace"}},
      {"ParameterMissingFromWeightsWithoutRule",
       edited(base, {noRule, useWeights}),
       safetensors(normsTensors()),
       {},
       F::Weights,
       "scale",
       {"missing", "expected shape [1, 4, 1, 1]", "model.parameters.scale",
        "no default initialisation", "\"initializers\""}},
      {"ParameterWithoutWeightsFileOrRule",
       edited(base, {noRule}),
       "",
       {},
       F::Model,
       "model.parameters.scale",
       {"\"scale\" (shape [1, 4, 1, 1])", "no weights file", "\"initializers\"",
        "\"init\" does not cover it"}},
      {"ParameterOfWrongShapeInWeights",
       edited(base, {noRule, useWeights}),
       safetensors(withScale),
       {},
       F::Weights,
       "scale",
       {"expected shape [1, 4, 1, 1]", "found [4]"}},
      {"ParameterShapeBelowOne",
       edited(base, {{R"("scale": [1, 4, 1, 1]},)", R"("scale": [1, 0]},)"}}),
       "",
       {},
       F::Model,
       "model.parameters.scale",
       {">= 1", "[1,0]"}},
      {"ParameterShapeNotAList",
       edited(base, {{R"("scale": [1, 4, 1, 1]},)", R"("scale": 4},)"}}),
       "",
       {},
       F::Model,
       "model.parameters.scale",
       {"a list of integers", "integer 4"}},
      {"InitializerForUndeclaredParameter",
       edited(base,
              {{R"("initializers": {"scale")", R"("initializers": {"scal")"}}),
       "",
       {},
       F::Model,
       "model.initializers.scal",
       {"no parameter \"scal\"", "did you mean \"scale\""}},
  };
}

INSTANTIATE_TEST_SUITE_P(NormsUpsampleParameters, ModelErrors,
                         ::testing::ValuesIn(normCases()),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return info.param.name;
                         });

/// kNorms itself is valid: the base the cases above break.
TEST(ErrorsModel, NormsBaseLoads) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  Written w = writeCase(dir, kNorms, "");
  std::vector<std::string> warnings;
  EXPECT_NO_THROW(kiln::loadModel(w.model, {}, &warnings));
}

// ---------------------------------------------------------------------------
// Positive controls and the "init" rule.

/// Loads `json` (and `weights`, if not empty) from a fresh directory; fails
/// the test on any error.
std::unique_ptr<kiln::Graph>
loadOk(const std::string &json, const std::string &weights = "",
       const std::map<std::string, std::string> &defines = {},
       std::vector<std::string> *warnings = nullptr) {
  TempDir dir;
  Written w = writeCase(dir, json, weights);
  kiln::LoadOptions options;
  options.defines = defines;
  try {
    return kiln::loadModel(w.model, options, warnings);
  } catch (const std::exception &e) {
    ADD_FAILURE() << "the model does not load: " << e.what();
  }
  return nullptr;
}

/// The kiln::Error loading `json` (and `weights`) throws, with the paths of
/// the files; fails the test if it throws nothing or something else.
struct Failure {
  bool thrown = false;
  std::string file, location, message, what;
  Written paths;
};

Failure loadFails(const std::string &json, const std::string &weights) {
  TempDir dir;
  Failure f;
  f.paths = writeCase(dir, json, weights);
  try {
    kiln::loadModel(f.paths.model, {});
    ADD_FAILURE() << "the model loaded without an error";
  } catch (const kiln::Error &e) {
    f = {true, e.file(), e.location(), e.message(), e.what(), f.paths};
  } catch (const std::exception &e) {
    ADD_FAILURE() << "threw " << typeid(e).name()
                  << " instead of kiln::Error: " << e.what();
  }
  return f;
}

TEST(ErrorsModel, BaseModelsLoad) {
  auto g = loadOk(kBase);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->name, "tiny");
  ASSERT_EQ(g->outputs.size(), 1u);
  EXPECT_EQ(g->outputs[0].first, "y");
  EXPECT_EQ(g->outputs[0].second->shape, (kiln::Shape{1, 10}));
  EXPECT_EQ(g->weights.size(), 4u);

  EXPECT_NE(loadOk(kOptions), nullptr);
  EXPECT_NE(loadOk(kOptions, "", {{"act", "prelu"}}), nullptr);
}

TEST(ErrorsModel, EveryEditedModelDiffersFromTheBase) {
  // Guards the table: a case whose text equals a valid base model would
  // test nothing.
  for (const Case &c : cases()) {
    SCOPED_TRACE(c.name);
    if (c.defines.empty() && c.weights.empty()) {
      EXPECT_NE(c.json, kBase);
      EXPECT_NE(c.json, kOptions);
    }
  }
  EXPECT_GE(cases().size(), 35u);
}

TEST(ErrorsModel, FullWeightsFileLoadsWithoutInit) {
  std::vector<std::string> warnings;
  auto g = loadOk(edited(kBase, {kUseWeights}), baseWeights(), {}, &warnings);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->weights.size(), 4u);
  EXPECT_TRUE(warnings.empty());
}

TEST(ErrorsModel, UnusedTensorIsAWarningNotAnError) {
  std::vector<Tensor> t = baseTensors();
  t.push_back({"features.conv9.weight", "F32", {2}});
  std::vector<std::string> warnings;
  auto g = loadOk(edited(kBase, {kUseWeights}), safetensors(t), {}, &warnings);
  ASSERT_TRUE(g);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("features.conv9.weight"), std::string::npos)
      << warnings[0];
}

TEST(ErrorsModel, InitCoversEveryAbsentParameter) {
  // No weights file at all.
  auto g = loadOk(kBase);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->weights.size(), 4u);
  // A weights file that holds none of them.
  auto withEmptyFile = edited(
      kBase, {{R"("init": {"seed": 0},)",
               R"("init": {"seed": 0}, "weights": "weights.safetensors",)"}});
  g = loadOk(withEmptyFile, rawSafetensors("{}", ""));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->weights.size(), 4u);
  // Some present, the others initialised.
  g = loadOk(withEmptyFile, safetensors(baseTensors({}, "classifier.bias")));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->weights.size(), 4u);
}

TEST(ErrorsModel, AbsentParameterWithoutInitIsNamed) {
  // No weights file: the model JSON is at fault.
  Failure f = loadFails(edited(kBase, {{R"("init": {"seed": 0},)", ""}}), "");
  ASSERT_TRUE(f.thrown);
  EXPECT_TRUE(samePath(f.file, f.paths.model)) << f.what;
  EXPECT_NE(f.message.find("features.conv1.weight"), std::string::npos)
      << f.what;
  // An empty weights file: the safetensors file is at fault.
  f = loadFails(edited(kBase, {kUseWeights}), rawSafetensors("{}", ""));
  ASSERT_TRUE(f.thrown);
  EXPECT_TRUE(samePath(f.file, f.paths.weights)) << f.what;
  EXPECT_NE(f.what.find("features.conv1.weight"), std::string::npos) << f.what;
  EXPECT_NE(f.message.find("[4, 3, 3, 3]"), std::string::npos) << f.what;
  // One tensor missing from an otherwise complete file.
  f = loadFails(edited(kBase, {kUseWeights}),
                safetensors(baseTensors({}, "classifier.weight")));
  ASSERT_TRUE(f.thrown);
  EXPECT_TRUE(samePath(f.file, f.paths.weights)) << f.what;
  EXPECT_NE(f.what.find("classifier.weight"), std::string::npos) << f.what;
  EXPECT_NE(f.message.find("missing"), std::string::npos) << f.what;
  EXPECT_NE(f.message.find("[10, 36]"), std::string::npos) << f.what;
}

// A directory given as the model is named as a directory (not read as an
// empty text), as the safetensors reader does.
TEST(ErrorsModel, ModelPathIsADirectory) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  try {
    kiln::loadModel(dir.path().string(), {});
    FAIL() << "loaded a directory";
  } catch (const kiln::Error &e) {
    EXPECT_TRUE(samePath(e.file(), dir.path().string())) << e.what();
    EXPECT_EQ(e.location(), "") << e.what();
    EXPECT_NE(e.message().find("directory"), std::string::npos) << e.what();
  }
}

TEST(ErrorsModel, WrongWeightShapeNamesTensorAndShapes) {
  Failure f = loadFails(edited(kBase, {kUseWeights}),
                        safetensors(baseTensors(
                            {{"features.conv1.weight", "F32", {4, 3, 2, 2}}})));
  ASSERT_TRUE(f.thrown);
  EXPECT_TRUE(samePath(f.file, f.paths.weights)) << f.what;
  EXPECT_NE(f.what.find("features.conv1.weight"), std::string::npos) << f.what;
  EXPECT_NE(f.message.find("[4, 3, 3, 3]"), std::string::npos) << f.what;
  EXPECT_NE(f.message.find("[4, 3, 2, 2]"), std::string::npos) << f.what;

  f = loadFails(
      edited(kBase, {kUseWeights}),
      safetensors(baseTensors({{"classifier.bias", "F32", {1, 10}}})));
  ASSERT_TRUE(f.thrown);
  EXPECT_TRUE(samePath(f.file, f.paths.weights)) << f.what;
  EXPECT_NE(f.what.find("classifier.bias"), std::string::npos) << f.what;
  EXPECT_NE(f.message.find("[1, 10]"), std::string::npos) << f.what;
}

} // namespace
