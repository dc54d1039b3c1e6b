// Reading and validating safetensors files: the 8-byte header length, the JSON
// header (with duplicate-key detection nlohmann would otherwise hide), every
// tensor entry, the layout of the data section, and float32 conversion.
#include "frontend/safetensors.h"

#include "support/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

namespace kiln {

static_assert(std::endian::native == std::endian::little,
              "the safetensors reader assumes a little-endian host");

namespace {

using json = nlohmann::json;

/// Largest header accepted, as in the reference implementation.
constexpr uint64_t kMaxHeaderSize = 100'000'000;
/// Largest element count of one tensor.
constexpr uint64_t kMaxElements = std::numeric_limits<int32_t>::max();

constexpr const char *kDTypeList =
    "F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL";

struct DTypeEntry {
  DType dtype;
  std::string_view name;
  size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::F32, "F32", 4},   {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::F64, "F64", 8},   {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},   {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::Bool, "BOOL", 1},
};

const DTypeEntry &dtypeEntry(DType dtype) {
  for (const DTypeEntry &e : kDTypes)
    if (e.dtype == dtype)
      return e;
  KILN_ASSERT(false,
              "unknown DType value " + std::to_string(static_cast<int>(dtype)));
  return kDTypes[0];
}

/// A JSON key as it appears in a location: bare if it is an identifier,
/// otherwise in double quotes with `"` and `\` escaped.
std::string keyLoc(std::string_view key) {
  bool ident = !key.empty() && !(key[0] >= '0' && key[0] <= '9');
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_'))
      ident = false;
  if (ident)
    return std::string(key);
  std::string s = "\"";
  for (char c : key) {
    if (c == '"' || c == '\\')
      s += '\\';
    s += c;
  }
  return s + "\"";
}

/// A short description of a JSON value for "found ..." in messages.
std::string describe(const json &v) {
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60)
    text = text.substr(0, 57) + "...";
  switch (v.type()) {
  case json::value_t::null:
    return "null";
  case json::value_t::boolean:
    return "the boolean " + text;
  case json::value_t::string:
    return "the string " + text;
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return "the integer " + text;
  case json::value_t::number_float:
    return "the number " + text;
  case json::value_t::array:
    return "the list " + text;
  case json::value_t::object:
    return "the object " + text;
  default:
    return text;
  }
}

/// Reads the whole file at `path`; throws kiln::Error if that fails.
std::string readWholeFile(const std::string &path) {
  std::error_code ec;
  std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (st.type() == std::filesystem::file_type::not_found)
    throw Error(path, "", "cannot open safetensors file: no such file");
  if (st.type() == std::filesystem::file_type::directory)
    throw Error(path, "",
                "cannot read safetensors file: it is a directory, expected a "
                "file");
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    throw Error(path, "",
                std::string("cannot open safetensors file: ") +
                    std::strerror(errno));
  // One allocation of the file's size and one read into it (appending
  // chunks to a growing string copied AlexNet's 244 MB several times); then
  // whatever a file that grew meanwhile still holds.
  std::string bytes;
  std::error_code sizeEc;
  const uintmax_t expected = std::filesystem::file_size(path, sizeEc);
  if (!sizeEc && expected > 0 && expected < (uintmax_t(1) << 40)) {
    bytes.resize(size_t(expected));
    bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
  }
  char buf[1 << 16];
  size_t n;
  while (!std::ferror(f) && (n = std::fread(buf, 1, sizeof buf, f)) > 0)
    bytes.append(buf, n);
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed)
    throw Error(path, "",
                std::string("error reading safetensors file: ") +
                    std::strerror(err));
  return bytes;
}

/// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string stripPrefix(std::string what) {
  size_t close = what.find("] ");
  if (!what.empty() && what[0] == '[' && close != std::string::npos)
    return what.substr(close + 2);
  return what;
}

/// Parses the header JSON, throwing kiln::Error for invalid JSON and for a
/// key repeated within one object (which nlohmann would silently collapse).
json parseHeader(std::string_view text, const std::string &path) {
  struct Frame {
    bool isObject;
    std::set<std::string> keys; // objects: keys seen so far
    std::string lastKey;        // objects: key of the current member
    size_t index = 0;           // arrays: index of the current element
  };
  std::vector<Frame> stack;
  auto location = [&](size_t frames) {
    std::string loc = "header";
    for (size_t i = 0; i < frames; ++i)
      loc += stack[i].isObject ? "." + keyLoc(stack[i].lastKey)
                               : "[" + std::to_string(stack[i].index) + "]";
    return loc;
  };
  auto elementDone = [&] {
    if (!stack.empty() && !stack.back().isObject)
      ++stack.back().index;
  };
  json::parser_callback_t cb = [&](int, json::parse_event_t event,
                                   json &parsed) {
    switch (event) {
    case json::parse_event_t::object_start:
    case json::parse_event_t::array_start:
      stack.push_back(
          Frame{event == json::parse_event_t::object_start, {}, {}, 0});
      break;
    case json::parse_event_t::object_end:
    case json::parse_event_t::array_end:
      stack.pop_back();
      elementDone();
      break;
    case json::parse_event_t::key: {
      KILN_ASSERT(!stack.empty() && stack.back().isObject,
                  "JSON key outside an object");
      const std::string &key = parsed.get_ref<const std::string &>();
      if (!stack.back().keys.insert(key).second)
        throw Error(path, location(stack.size() - 1) + "." + keyLoc(key),
                    "duplicate key \"" + key +
                        "\" in the header: each key may appear only once in "
                        "a JSON object");
      stack.back().lastKey = key;
      break;
    }
    case json::parse_event_t::value:
      elementDone();
      break;
    }
    return true;
  };
  // nlohmann stops at a NUL byte as if the input ended there, which would
  // hide whatever follows; raw NUL is never valid JSON.
  if (size_t nul = text.find('\0'); nul != std::string_view::npos)
    throw Error(path, "header",
                "the header is not valid JSON (at header offset " +
                    std::to_string(nul) + ", file offset " +
                    std::to_string(nul + 8) +
                    "): NUL byte; the header is UTF-8 JSON, padded only with "
                    "spaces");
  try {
    return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const json::parse_error &e) {
    // e.byte counts the bytes read, so the offending byte is e.byte - 1.
    size_t at = e.byte > 0 ? e.byte - 1 : 0;
    throw Error(path, "header",
                "the header is not valid JSON (at header offset " +
                    std::to_string(at) + ", file offset " +
                    std::to_string(at + 8) + "): " + stripPrefix(e.what()));
  } catch (const json::exception &e) {
    throw Error(path, "header",
                "the header is not valid JSON: " + stripPrefix(e.what()));
  }
}

/// The value of `v` as an unsigned integer, or throws kiln::Error at `loc`.
uint64_t expectUnsigned(const json &v, const std::string &path,
                        const std::string &loc, const char *what) {
  if (!v.is_number_unsigned())
    throw Error(path, loc,
                std::string("expected ") + what + ", found " + describe(v));
  return v.get<uint64_t>();
}

TensorInfo parseEntry(const std::string &name, const json &entry,
                      uint64_t dataSize, const std::string &path) {
  const std::string loc = "header." + keyLoc(name);
  if (!entry.is_object())
    throw Error(path, loc,
                "expected a tensor entry {\"dtype\", \"shape\", "
                "\"data_offsets\"}, found " +
                    describe(entry));
  for (const auto &[key, value] : entry.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw Error(path, loc + "." + keyLoc(key),
                  "unexpected key \"" + key +
                      "\" in tensor entry; expected only \"dtype\", "
                      "\"shape\" and \"data_offsets\"");
  for (const char *key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key))
      throw Error(path, loc,
                  std::string("missing key \"") + key +
                      "\" in tensor entry; expected \"dtype\", \"shape\" and "
                      "\"data_offsets\"");

  TensorInfo t;
  t.name = name;

  // dtype
  const json &dtype = entry["dtype"];
  if (!dtype.is_string())
    throw Error(path, loc + ".dtype",
                std::string("expected a dtype string (one of ") + kDTypeList +
                    "), found " + describe(dtype));
  const std::string &dtypeStr = dtype.get_ref<const std::string &>();
  const DTypeEntry *found = nullptr;
  for (const DTypeEntry &e : kDTypes)
    if (e.name == dtypeStr)
      found = &e;
  if (!found)
    throw Error(path, loc + ".dtype",
                "unknown or unsupported dtype \"" + dtypeStr +
                    "\"; expected one of " + kDTypeList);
  t.dtype = found->dtype;

  // shape
  const json &shape = entry["shape"];
  if (!shape.is_array())
    throw Error(path, loc + ".shape",
                "expected a list of non-negative integers, found " +
                    describe(shape));
  bool hasZero = false;
  uint64_t numel = 1;
  bool tooMany = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    const std::string dimLoc = loc + ".shape[" + std::to_string(i) + "]";
    uint64_t dim =
        expectUnsigned(shape[i], path, dimLoc, "a non-negative integer");
    if (dim > kMaxElements)
      throw Error(path, dimLoc,
                  "dimension " + std::to_string(dim) +
                      " is too large (at most " + std::to_string(kMaxElements) +
                      " elements per tensor)");
    t.shape.push_back(static_cast<int64_t>(dim));
    if (dim == 0)
      hasZero = true;
    else if (!tooMany) {
      numel *= dim; // both factors <= 2^31-1: no overflow
      if (numel > kMaxElements)
        tooMany = true;
    }
  }
  if (hasZero)
    numel = 0;
  else if (tooMany)
    throw Error(path, loc + ".shape",
                "the shape has more than " + std::to_string(kMaxElements) +
                    " elements, more than Kiln supports in one tensor");

  // data_offsets
  const json &offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    throw Error(path, loc + ".data_offsets",
                "expected [begin, end], two non-negative integers, found " +
                    describe(offsets));
  t.begin = expectUnsigned(offsets[0], path, loc + ".data_offsets[0]",
                           "a non-negative integer (begin offset)");
  t.end = expectUnsigned(offsets[1], path, loc + ".data_offsets[1]",
                         "a non-negative integer (end offset)");
  if (t.begin > t.end)
    throw Error(path, loc + ".data_offsets",
                "begin offset " + std::to_string(t.begin) +
                    " is after end offset " + std::to_string(t.end) +
                    "; expected begin <= end");
  if (t.end > dataSize)
    throw Error(path, loc + ".data_offsets",
                "end offset " + std::to_string(t.end) +
                    " is beyond the end of the data section, which is " +
                    std::to_string(dataSize) + " bytes long");
  uint64_t expected = numel * found->size;
  if (t.end - t.begin != expected)
    throw Error(
        path, loc + ".data_offsets",
        "the tensor takes " + std::to_string(t.end - t.begin) + " bytes [" +
            std::to_string(t.begin) + ", " + std::to_string(t.end) +
            "), expected " + std::to_string(expected) + " bytes (" +
            std::to_string(numel) + " elements of " + std::string(found->name) +
            ", " + std::to_string(found->size) + " bytes each)");
  return t;
}

std::vector<std::pair<std::string, std::string>>
parseMetadata(const json &meta, const std::string &path) {
  const std::string loc = "header.__metadata__";
  if (!meta.is_object())
    throw Error(path, loc,
                "expected an object mapping strings to strings, found " +
                    describe(meta));
  std::vector<std::pair<std::string, std::string>> result;
  for (const auto &[key, value] : meta.items()) {
    if (!value.is_string())
      throw Error(path, loc + "." + keyLoc(key),
                  "expected a string (metadata values are strings), found " +
                      describe(value));
    result.emplace_back(key, value.get<std::string>());
  }
  return result;
}

std::string range(const TensorInfo &t) {
  return "bytes [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
         ")";
}

/// Checks that the tensors, sorted by offset, tile the data section exactly.
void checkLayout(const std::vector<TensorInfo> &tensors, uint64_t dataSize,
                 const std::string &path) {
  uint64_t cursor = 0;
  const TensorInfo *prev = nullptr;
  for (const TensorInfo &t : tensors) {
    const std::string loc = "header." + keyLoc(t.name) + ".data_offsets";
    if (t.begin < cursor)
      throw Error(path, loc,
                  "tensor \"" + t.name + "\" (" + range(t) +
                      ") overlaps tensor \"" + prev->name + "\" (" +
                      range(*prev) + "); tensors must not share bytes");
    if (t.begin > cursor)
      throw Error(path, loc,
                  "bytes [" + std::to_string(cursor) + ", " +
                      std::to_string(t.begin) +
                      ") of the data section belong to no tensor (a hole " +
                      (prev ? "between tensor \"" + prev->name + "\" and "
                            : std::string("before ")) +
                      "tensor \"" + t.name +
                      "\"); the tensors must cover the data section without "
                      "gaps");
    cursor = t.end;
    prev = &t;
  }
  if (cursor != dataSize)
    throw Error(path, "data section",
                "bytes [" + std::to_string(cursor) + ", " +
                    std::to_string(dataSize) +
                    ") of the data section belong to no tensor (the data "
                    "section is " +
                    std::to_string(dataSize) + " bytes, the tensors cover " +
                    std::to_string(cursor) +
                    "); the tensors must cover the data section without gaps");
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) // inf, or NaN quieted as the x86 conversion does
    return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13) |
                                (mant ? 0x00400000u : 0u));
  if (exp == 0) { // zero or subnormal: mant * 2^-24, exact in float
    float v = std::ldexp(static_cast<float>(mant), -24);
    return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(v));
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

template <typename T> T load(const char *p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

} // namespace

std::string_view dtypeName(DType dtype) { return dtypeEntry(dtype).name; }

size_t dtypeSize(DType dtype) { return dtypeEntry(dtype).size; }

int64_t TensorInfo::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

SafetensorsFile SafetensorsFile::open(const std::string &path) {
  return fromBytes(readWholeFile(path), path);
}

SafetensorsFile SafetensorsFile::fromBytes(std::string bytes,
                                           const std::string &path) {
  if (bytes.size() < 8)
    throw Error(path, "",
                "the file is " + std::to_string(bytes.size()) +
                    " bytes long; a safetensors file starts with an 8-byte "
                    "header length");
  uint64_t headerSize = load<uint64_t>(bytes.data());
  if (headerSize > kMaxHeaderSize)
    throw Error(path, "header length",
                "the header length is " + std::to_string(headerSize) +
                    " bytes, more than the " + std::to_string(kMaxHeaderSize) +
                    " allowed; is this a safetensors file?");
  if (headerSize > bytes.size() - 8)
    throw Error(path, "header length",
                "the header length is " + std::to_string(headerSize) +
                    " bytes but only " + std::to_string(bytes.size() - 8) +
                    " bytes follow it in the file");

  std::string_view text(bytes.data() + 8, headerSize);
  json header = parseHeader(text, path);
  if (!header.is_object())
    throw Error(path, "header",
                "expected a JSON object mapping tensor names to {\"dtype\", "
                "\"shape\", \"data_offsets\"}, found " +
                    describe(header));

  SafetensorsFile file;
  file.path_ = path;
  file.dataStart_ = 8 + headerSize;
  uint64_t dataSize = bytes.size() - file.dataStart_;
  for (const auto &[name, entry] : header.items()) {
    if (name == "__metadata__")
      file.metadata_ = parseMetadata(entry, path);
    else
      file.tensors_.push_back(parseEntry(name, entry, dataSize, path));
  }
  std::sort(file.tensors_.begin(), file.tensors_.end(),
            [](const TensorInfo &a, const TensorInfo &b) {
              if (a.begin != b.begin)
                return a.begin < b.begin;
              if (a.end != b.end)
                return a.end < b.end;
              return a.name < b.name;
            });
  checkLayout(file.tensors_, dataSize, path);
  file.bytes_ = std::move(bytes);
  return file;
}

const TensorInfo *SafetensorsFile::find(std::string_view name) const {
  for (const TensorInfo &t : tensors_)
    if (t.name == name)
      return &t;
  return nullptr;
}

bool SafetensorsFile::isFloating(const TensorInfo &t) const {
  switch (t.dtype) {
  case DType::F32:
  case DType::F16:
  case DType::BF16:
  case DType::F64:
    return true;
  default:
    return false;
  }
}

std::vector<float> SafetensorsFile::readFloat32(const TensorInfo &t) const {
  if (!isFloating(t))
    throw Error(path_, t.name,
                "tensor \"" + t.name + "\" has dtype " +
                    std::string(dtypeName(t.dtype)) +
                    ", expected a floating-point dtype (F32, F16, BF16 or "
                    "F64) to read as float32");
  const size_t size = dtypeSize(t.dtype);
  const uint64_t n = static_cast<uint64_t>(t.numElements());
  KILN_ASSERT(t.begin <= t.end && t.end <= bytes_.size() - dataStart_ &&
                  t.end - t.begin == n * size,
              "TensorInfo \"" + t.name + "\" does not belong to " + path_);
  const char *p = bytes_.data() + dataStart_ + t.begin;
  std::vector<float> out(n);
  switch (t.dtype) {
  case DType::F32:
    if (n)
      std::memcpy(out.data(), p, n * sizeof(float));
    break;
  case DType::F16:
    for (uint64_t i = 0; i < n; ++i)
      out[i] = halfToFloat(load<uint16_t>(p + 2 * i));
    break;
  case DType::BF16:
    for (uint64_t i = 0; i < n; ++i)
      out[i] = std::bit_cast<float>(
          static_cast<uint32_t>(load<uint16_t>(p + 2 * i)) << 16);
    break;
  case DType::F64:
    // Round to nearest even, overflow to inf, NaN stays NaN: what PyTorch's
    // static_cast does.
    for (uint64_t i = 0; i < n; ++i)
      out[i] = static_cast<float>(load<double>(p + 8 * i));
    break;
  default:
    KILN_ASSERT(false, "unhandled floating dtype");
  }
  return out;
}

} // namespace kiln
