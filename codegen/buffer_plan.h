// Where every tensor of a graph lives when the generated code runs: a model
// input, an output buffer, the weights blob, or an offset in the arena.
// Intermediate tensors whose live ranges do not overlap share arena bytes;
// views share their operand's storage.
#pragma once

#include "ir/graph.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace kiln {

/// Alignment of arena slots and weights, in bytes.
inline constexpr int64_t kBufferAlign = 64;

/// The storage of one value.
struct Storage {
  enum class Kind { Input, Output, Arena, Weight } kind = Kind::Arena;
  /// Input or output index.
  int index = 0;
  /// Byte offset in the arena or the weights blob.
  int64_t offset = 0;
};

/// The buffer assignment of a whole graph.
struct BufferPlan {
  std::unordered_map<const Value *, Storage> storage;
  /// Arena bytes needed (exact for this plan).
  int64_t arenaBytes = 0;
  /// Arena bytes without sharing (every intermediate tensor its own slot),
  /// for reports.
  int64_t unsharedArenaBytes = 0;
  /// Bytes of the weights blob.
  int64_t weightBytes = 0;
  /// Outputs that must be copied from another buffer after the ops run
  /// (an output that is a model input, a weight, or shares its bytes with
  /// another output): output index and the value to copy.
  std::vector<std::pair<int, const Value *>> outputCopies;
  /// Arena offset of the scratch bytes of ops whose kernel calls need some
  /// (KernelCall::scratchBytes), live only while the op runs.
  std::unordered_map<const Op *, int64_t> scratch;
};

/// The most scratch bytes any kernel call of `op` needs (0 for views).
int64_t scratchBytes(const Op &op);

/// Rounds `n` up to a multiple of kBufferAlign.
int64_t alignUp(int64_t n);

/// Plans the buffers of `g`: tensors live from the op that writes them to
/// the last op that reads them (directly or through views); tensors live at
/// the same time never share bytes, and an op's results never share bytes
/// with its operands.
BufferPlan planBuffers(const Graph &g);

} // namespace kiln
