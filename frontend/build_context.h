// The frontend's table of layer types and functional ops: how each turns
// its JSON arguments and inputs into IR ops. Adding a layer type means adding
// a table entry (arguments with PyTorch defaults and a build function).
#pragma once

#include "frontend/json_node.h"
#include "ir/graph.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

class ModelBuilder;
struct BuildContext;
class Args;

/// How an argument is written in JSON.
enum class ArgKind {
  Int,     ///< integer
  Float,   ///< number
  Bool,    ///< true / false
  String,  ///< one of `choices`
  Spatial, ///< integer or list with one entry per spatial dim
  Padding, ///< Spatial, or "same" / "valid"
  Size,    ///< Spatial where entries may be null (adaptive pooling)
  IntList, ///< list of integers
  Any,     ///< anything (ignored)
};

/// One argument of a layer or functional op, with PyTorch's default as JSON
/// text (`nullptr`: required; `"=other"`: defaults to argument `other`).
struct ArgSpec {
  const char *name;
  ArgKind kind;
  const char *defaultJson;
  std::vector<std::string> choices = {};
  /// `null` is accepted too (PyTorch takes None).
  bool nullable = false;
};

/// A layer type (`Conv2d`) or a functional op (`flatten`).
struct OpSpec {
  std::string name;
  std::vector<ArgSpec> args;
  /// Spatial dims of Spatial / Padding arguments (0 if none).
  int spatial = 0;
  int minInputs = 1, maxInputs = 1;
  /// Number operands (`["x", 0.5]`) are accepted.
  bool scalarInputs = false;
  /// Unknown keys are ignored (Identity).
  bool anyArgs = false;
  std::vector<Value *> (*build)(BuildContext &ctx) = nullptr;
  /// Names of the learnable parameters the layer has with these arguments
  /// (what an `initializers` rule may name); nullptr: none.
  std::vector<std::string> (*parameters)(const Args &args) = nullptr;
};

/// Arguments of one layer or step after validation, defaults filled in.
class Args {
public:
  /// Validates `node`'s keys (except `reserved`) against `spec`.
  Args(const OpSpec &spec, const JsonNode &node,
       const std::vector<std::string> &reserved);
  Args(const Args &) = delete;

  /// The node of an argument (given or default) for values and messages.
  JsonNode node(const std::string &name) const;
  bool given(const std::string &name) const;
  int64_t integer(const std::string &name) const;
  double number(const std::string &name) const;
  bool boolean(const std::string &name) const;
  std::string string(const std::string &name) const;
  /// A Spatial / Padding argument as `spatial` integers.
  std::vector<int64_t> spatial(const std::string &name) const;

private:
  const OpSpec &spec_;
  JsonNode node_;
  std::map<std::string, std::unique_ptr<Json>> defaults_;
};

/// A number in `in` (`["x", 0.5]`) or a value.
struct Operand {
  Value *value = nullptr;
  double scalar = 0;
};

/// Default initialisation of a parameter missing from the weights file.
struct DefaultInit {
  double low = 0, high = 0; ///< uniform(low, high); low == high: constant
};

/// What a build function sees: its arguments, inputs, location, and how to
/// make parameters and ops.
struct BuildContext {
  ModelBuilder &builder;
  const OpSpec &spec;
  const Args &args;
  /// Module path (`features.conv1`) for layers; the enclosing module's path
  /// for functional steps.
  std::string modulePath;
  /// JSON path of the layer or step (op locations).
  JsonNode node;
  /// The calling forward step, if any (step-level arguments).
  const JsonNode *step = nullptr;
  std::vector<Operand> inputs;
  /// Base name for results.
  std::string resultName;

  /// Input `i` as a value (an error if it is a number).
  Value *input(size_t i) const;
  /// The parameter `name` of this module with `shape`, from the weights
  /// file or initialised.
  Value *param(const std::string &name, const Shape &shape, DefaultInit init,
               bool buffer = false) const;
  /// Marks this module's tensor `name` in the weights file as known and
  /// ignored (a buffer such as BatchNorm's num_batches_tracked).
  void ignoreParam(const std::string &name) const;
  /// A 0-d constant holding `v` (a number operand of an elementwise op).
  Value *scalar(double v) const;
  /// Appends IR op `opName`, located at this layer.
  Op *emit(const char *opName, std::vector<Value *> operands, AttrMap attrs,
           const std::string &suffix = "") const;
  /// Throws a user error at this layer.
  [[noreturn]] void error(const std::string &message) const;
};

/// The layer type named `type`, or nullptr.
const OpSpec *findLayer(const std::string &type);
/// The functional op named `name`, or nullptr.
const OpSpec *findFunctional(const std::string &name);
/// Names for "did you mean" suggestions.
std::vector<std::string> layerNames();
std::vector<std::string> functionalNames();

/// Table parts, one per family (frontend/layers/*.cpp).
void addConvLayers(std::vector<OpSpec> &t);
void addPoolLayers(std::vector<OpSpec> &t);
void addActivationLayers(std::vector<OpSpec> &t);
void addBasicLayers(std::vector<OpSpec> &t);
void addFunctionalOps(std::vector<OpSpec> &t);
void addPoolFunctionals(std::vector<OpSpec> &t);
void addActivationFunctionals(std::vector<OpSpec> &t);
void addNormLayers(std::vector<OpSpec> &t);
void addNormFunctionals(std::vector<OpSpec> &t);
void addUpsampleLayers(std::vector<OpSpec> &t);
void addUpsampleFunctionals(std::vector<OpSpec> &t);
void addShapeFunctionals(std::vector<OpSpec> &t);

} // namespace kiln
