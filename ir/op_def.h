// The op table entry: everything Kiln knows about one op kind, defined once
// (operands, attributes, shape inference and verification, reference
// evaluation, cost, and the kernel call the backends emit).
#pragma once

#include "ir/attribute.h"
#include "ir/graph.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// A named operand slot of an op kind.
struct OperandSpec {
  const char *name;
  bool optional = false;
  /// The slot repeats: one or more operands (only the last slot).
  bool variadic = false;
  ElemType type = ElemType::F32;
};

/// A named attribute of an op kind; present on every op of the kind unless
/// `optional` (then absent means "not used", e.g. no fused activation).
struct AttrSpec {
  const char *name;
  AttrKind kind;
  bool optional = false;
};

/// A constant initialiser for a runtime kernel's parameter struct: an int,
/// a float, an int array, or a nested struct. Names are for readers of the
/// generated code (and the struct layout is the runtime header's).
struct KernelParam {
  enum class Kind { Int, Float, Ints, Struct };
  Kind kind = Kind::Int;
  std::string name;
  int64_t i = 0;
  double f = 0;
  std::vector<int64_t> ints;
  std::vector<KernelParam> fields;

  static KernelParam integer(std::string name, int64_t v);
  static KernelParam real(std::string name, double v);
  static KernelParam array(std::string name, std::vector<int64_t> v);
  static KernelParam group(std::string name, std::vector<KernelParam> fields);
};

/// How a backend computes an op: call runtime kernel `kernel` (in namespace
/// kiln_rt) with a constant `params` struct of type `paramsType`, then the
/// operand pointers (nullptr for absent optional operands), then the result
/// pointers.
struct KernelCall {
  std::string kernel;
  std::string paramsType;
  KernelParam params;
  /// The pointer arguments after the params when not the default (all
  /// operands, then all results): operand i is `i`, result j is `-1 - j`,
  /// kNullArg a null pointer.
  std::vector<int> args = {};
  /// Bytes of arena scratch the call needs, live only while the op runs
  /// (passed where args holds kScratchArg); planned with the tensors.
  int64_t scratchBytes = 0;

  static constexpr int kNullArg = -1000000;
  static constexpr int kScratchArg = -2000000;
};

/// The pointer argument list of a kernel call, as operand and result
/// indices (see KernelCall::args).
std::vector<int> kernelArgs(const Op &op, const KernelCall &kc);

/// What the pack-weights pass tells an op about the target's micro-kernel
/// (runtime/kiln/ukernels/tiles.h): vector lanes, vectors per tile row,
/// the most tile rows the registers hold, and the L1 data cache size.
struct TileTarget {
  int lanes = 4, vecs = 2, maxRows = 6;
  int64_t l1Bytes = 32768;
  /// Whether 3x3 stride-1 convs may use Winograd (conv_winograd).
  bool winograd = true;
  /// Columns of a micro-tile.
  int tileCols() const { return lanes * vecs; }
};

/// One op kind.
struct OpDef {
  /// Name in the textual IR (`conv`, `max_pool`, ...).
  const char *name;
  std::vector<OperandSpec> operands;
  std::vector<AttrSpec> attrs;
  int numResults = 1;
  /// Element type of each result (default: all f32).
  std::vector<ElemType> resultTypes = {};
  /// The result is operand 0 with another shape, same bytes and element
  /// type (no kernel).
  bool isView = false;
  /// Checks operand shapes and attribute values and returns the result
  /// shapes; an impossible op is reported with `op.error(...)`, naming the
  /// shapes and the rule that failed.
  std::vector<Shape> (*inferShapes)(const Op &op) = nullptr;
  /// Reference evaluation with plain loops (independent of the runtime
  /// kernels): operand data in, result data out (preallocated).
  void (*evaluate)(const Op &op, const std::vector<const float *> &in,
                   const std::vector<float *> &out) = nullptr;
  /// The runtime kernel calls, in order (not used for views).
  std::vector<KernelCall> (*lower)(const Op &op) = nullptr;
  /// Multiply-accumulates (or elementwise operations) for one evaluation.
  int64_t (*macs)(const Op &op) = nullptr;

  // Hooks the optimisation passes use (nullptr: not applicable).

  /// The result equals operand 0 (identity, reshape to the same shape, a
  /// pad of nothing, ...): the op can be dropped.
  bool (*isNoop)(const Op &op) = nullptr;
  /// The op can absorb an activation epilogue (optional attrs
  /// `activation`, `act_a`, `act_b`) and a residual operand added before
  /// the activation.
  bool fusableEpilogue = false;
  /// The op is a plain residual addition a + b of two same-shaped tensors
  /// (no broadcasting, alpha 1) that a producer of either may absorb.
  bool (*isResidualAdd)(const Op &op) = nullptr;
  /// An activation that can become an epilogue: its name and arguments.
  bool (*asEpilogue)(const Op &op, std::string &act, double &a,
                     double &b) = nullptr;
  /// The op is y[c] = x[c] * scale[c] + shift[c] per channel (dim 1) with
  /// constant scale and shift: computes them (BatchNorm in inference).
  bool (*channelAffine)(const Op &op, std::vector<double> &scale,
                        std::vector<double> &shift) = nullptr;
  /// Rewrites the op's weights so that its output channel c becomes
  /// y[c] * scale[c] + shift[c]; false when it cannot (e.g. the weights are
  /// not constants).
  bool (*foldChannelAffine)(Op &op, Graph &g, const std::vector<double> &scale,
                            const std::vector<double> &shift) = nullptr;
  /// Lowers the op to a kernel on weights packed at compile time for
  /// `target` (pack-weights): appends the replacing op to `g`, makes it
  /// take over the op's uses and returns it; null keeps the op (e.g. its
  /// weights are not constants).
  Op *(*packForTarget)(Graph &g, Op &op, const TileTarget &target) = nullptr;
};

} // namespace kiln
