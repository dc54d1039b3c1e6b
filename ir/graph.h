// The IR: a graph of ops over SSA values with static shapes. Values are model
// inputs, weights (constant tensors) or op results; ops are kept in a
// topological order and carry the source location they were built from.
#pragma once

#include "ir/attribute.h"
#include "ir/shape.h"

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace kiln {

struct OpDef;
class Op;

/// Where an op comes from: the file and the JSON path of its layer (or the
/// line and column of a textual IR file).
struct Location {
  std::string file;
  std::string path;
};

/// An SSA value: a tensor of static shape.
class Value {
public:
  enum class Kind { Input, Weight, Result };

  Kind kind;
  /// Unique within the graph; printed `%name` (`@name` for weights).
  std::string name;
  Shape shape;
  ElemType elemType = ElemType::F32;
  /// For results: the op defining the value and which of its results it is.
  Op *producer = nullptr;
  int resultIndex = 0;
  /// For weights: the float32 data (numElements(shape) entries).
  std::shared_ptr<const std::vector<float>> data;
  /// For weights: a buffer (BatchNorm statistics), not a learnable
  /// parameter (what `kiln info` counts apart).
  bool buffer = false;

  bool isWeight() const { return kind == Kind::Weight; }
  int64_t numElements() const { return kiln::numElements(shape); }
};

/// One operation: an op kind from the op table, operands, results,
/// attributes and a source location.
class Op {
public:
  const OpDef *def;
  /// Operands in the order of the op definition; an absent optional operand
  /// is a nullptr (and only trailing ones may be absent).
  std::vector<Value *> operands;
  std::vector<Value *> results;
  AttrMap attrs;
  Location loc;

  const char *name() const;
  Value *operand(size_t i) const {
    return i < operands.size() ? operands[i] : nullptr;
  }
  Value *result(size_t i = 0) const { return results[i]; }

  /// Typed attribute access; a missing or mistyped attribute is a bug
  /// (the verifier checks them before any op hook runs).
  int64_t getInt(const std::string &name) const;
  double getFloat(const std::string &name) const;
  bool getBool(const std::string &name) const;
  const std::string &getString(const std::string &name) const;
  const std::vector<int64_t> &getInts(const std::string &name) const;

  /// Throws a user error located at this op: `<op>: <message>`.
  [[noreturn]] void error(const std::string &message) const;
};

/// A model: inputs, weights, ops in topological order, named outputs.
class Graph {
public:
  /// C identifier used for generated symbols.
  std::string name;
  /// The file the graph was read from (for messages).
  std::string file;
  std::vector<Value *> inputs;
  std::vector<Value *> weights;
  std::vector<std::unique_ptr<Op>> ops;
  /// Output name and the value it returns, in order.
  std::vector<std::pair<std::string, Value *>> outputs;

  Graph() = default;
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  Value *addInput(const std::string &name, Shape shape);
  Value *addWeight(const std::string &name, Shape shape,
                   std::shared_ptr<const std::vector<float>> data);
  /// Appends an op; its result shapes come from the op's shape inference,
  /// which reports impossible shapes as user errors located at `loc`.
  /// Results are named after `resultName` (made unique).
  Op *addOp(const OpDef &def, std::vector<Value *> operands, AttrMap attrs,
            Location loc, const std::string &resultName);

  /// Makes every use of `from` (operands and outputs) use `to` instead.
  void replaceAllUsesWith(Value *from, Value *to);
  /// Removes `op` (its results must be unused).
  void eraseOp(Op *op);
  /// Moves `op` to just before `before` in the op order.
  void moveBefore(Op *op, Op *before);
  /// Removes weights that no op uses; returns how many.
  size_t removeUnusedWeights();
  /// Position of `op` in the op order.
  size_t indexOf(const Op *op) const;

  /// The ops that use `v` (once per use).
  std::vector<Op *> users(const Value *v) const;
  /// Whether `v` is one of the graph outputs.
  bool isOutput(const Value *v) const;
  /// Removes ops whose results are all unused and not outputs; returns how
  /// many were removed.
  size_t removeDeadOps();

  /// A name not yet used by any value, derived from `base`.
  std::string uniqueName(const std::string &base);

private:
  Value *newValue(Value::Kind kind, const std::string &name, Shape shape);
  std::vector<std::unique_ptr<Value>> values_;
  std::unordered_set<std::string> names_;
  /// Per base name, the last suffix uniqueName() gave or skipped.
  std::unordered_map<std::string, int> nextSuffix_;
};

} // namespace kiln
