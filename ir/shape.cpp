// Helpers for static tensor shapes.
#include "ir/shape.h"

#include <limits>

namespace kiln {

int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      return std::numeric_limits<int64_t>::max();
    n *= d;
  }
  return n;
}

std::string shapeToString(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

const char *elemTypeName(ElemType t) {
  return t == ElemType::I32 ? "i32" : "f32";
}

std::string tensorTypeToString(const Shape &shape, ElemType t) {
  std::string s = std::string(elemTypeName(t)) + "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t wrapDim(int64_t dim, int64_t rank) {
  int64_t r = rank == 0 ? 1 : rank;
  if (dim < -r || dim >= r)
    return -1;
  return dim < 0 ? dim + r : dim;
}

} // namespace kiln
