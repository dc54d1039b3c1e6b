// Reader for the safetensors weight format: validates the whole file up front
// (header JSON, dtypes, shapes, data offsets, full coverage of the data
// section) and hands out tensors converted to float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln {

/// Element types Kiln accepts in a safetensors file.
enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

/// The safetensors spelling of `dtype` ("F32", "BF16", "BOOL", ...).
std::string_view dtypeName(DType dtype);

/// Size in bytes of one element of `dtype`.
size_t dtypeSize(DType dtype);

/// One tensor described by a safetensors header.
struct TensorInfo {
  /// Name as written in the header, e.g. "features.conv1.weight".
  std::string name;
  /// Element type.
  DType dtype = DType::F32;
  /// Dimensions, outermost first; empty for a scalar.
  std::vector<int64_t> shape;
  /// Byte range [begin, end) relative to the start of the data section.
  uint64_t begin = 0, end = 0;

  /// Product of `shape` (1 for a scalar).
  int64_t numElements() const;
};

/// A safetensors file read into memory and fully validated.
class SafetensorsFile {
public:
  /// Opens and fully validates the file; throws kiln::Error naming `path`.
  static SafetensorsFile open(const std::string &path);

  /// Same, from bytes already in memory (for tests); `path` is used in
  /// messages.
  static SafetensorsFile fromBytes(std::string bytes, const std::string &path);

  /// The path given to open() or fromBytes().
  const std::string &path() const { return path_; }

  /// All tensors, in order of data offset.
  const std::vector<TensorInfo> &tensors() const { return tensors_; }

  /// The `__metadata__` map of the header, as (key, value) pairs in key
  /// order; empty if the header has none.
  const std::vector<std::pair<std::string, std::string>> &metadata() const {
    return metadata_;
  }

  /// The tensor named `name`, or nullptr if the file has none of that name.
  const TensorInfo *find(std::string_view name) const;

  /// True if `t` holds floating-point data (F32, F16, BF16 or F64).
  bool isFloating(const TensorInfo &t) const;

  /// The tensor converted to float32 (F32 copied, F16/BF16/F64 converted
  /// exactly as PyTorch's .float() would: round-to-nearest-even for F64,
  /// subnormals and inf/nan preserved). Throws kiln::Error for integer and
  /// boolean dtypes. `t` must be one of this file's tensors().
  std::vector<float> readFloat32(const TensorInfo &t) const;

private:
  SafetensorsFile() = default;

  std::string path_;
  std::string bytes_;    // the whole file
  size_t dataStart_ = 0; // offset of the data section in bytes_
  std::vector<TensorInfo> tensors_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

} // namespace kiln
