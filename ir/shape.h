// Static tensor shapes: the dimension vector and helpers to print and count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// A static tensor shape, outermost dimension first. `{}` is a 0-d tensor.
using Shape = std::vector<int64_t>;

/// Largest element count a tensor may have (model format limit).
inline constexpr int64_t kMaxElements = (int64_t(1) << 31) - 1;

/// Product of the dimensions (1 for a 0-d shape). Saturates at INT64_MAX.
int64_t numElements(const Shape &shape);

/// `[1, 3, 32, 32]`, as used in error messages.
std::string shapeToString(const Shape &shape);

/// Element type of a tensor: float32 data, or int32 indices (max-pool
/// indices feeding max-unpool). Both take 4 bytes.
enum class ElemType { F32, I32 };

/// `f32` or `i32`.
const char *elemTypeName(ElemType t);

/// `f32[1,3,32,32]`, as used in the textual IR.
std::string tensorTypeToString(const Shape &shape, ElemType t = ElemType::F32);

/// Normalises a possibly negative dimension index for a tensor of `rank`
/// (PyTorch's wrap rule); returns -1 when out of range.
int64_t wrapDim(int64_t dim, int64_t rank);

} // namespace kiln
