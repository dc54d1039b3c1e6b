// Reading and writing float32 NumPy .npy files, for programs Kiln generates
// (test inputs and expected outputs). Header-only C++17 that builds with
// -fno-exceptions -fno-rtti: every failure is reported by returning false with
// a message naming the file and saying what was expected and what was found.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace kiln_npy {

namespace detail {

/// Sets `error` to "<path>: <message>" and returns false.
inline bool fail(std::string &error, const char *path,
                 const std::string &message) {
  error = std::string(path ? path : "(null path)") + ": " + message;
  return false;
}

inline bool host_is_little_endian() {
  const uint16_t one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

/// Reverses the bytes of each of the `count` 4-byte words at `p`.
inline void swap_words(void *p, size_t count) {
  unsigned char *b = static_cast<unsigned char *>(p);
  for (size_t i = 0; i < count; ++i, b += 4) {
    unsigned char t = b[0];
    b[0] = b[3];
    b[3] = t;
    t = b[1];
    b[1] = b[2];
    b[2] = t;
  }
}

/// A shape as Python writes a tuple: (), (5,), (2, 3).
inline std::string shape_string(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1)
    s += ",";
  return s + ")";
}

/// Printable rendering of raw bytes for messages, e.g. \x93NUMPY.
inline std::string escape_bytes(const unsigned char *p, size_t n) {
  static const char hex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      s += static_cast<char>(c);
    } else {
      s += "\\x";
      s += hex[c >> 4];
      s += hex[c & 15];
    }
  }
  return s;
}

/// Number of elements of `shape`; false if a dimension is negative or the
/// count of bytes (4 per element) overflows 64 bits.
inline bool element_count(const std::vector<int64_t> &shape, uint64_t &count,
                          std::string &why) {
  count = 1;
  bool zero = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      why = "dimension " + std::to_string(i) + " is negative (" +
            std::to_string(shape[i]) + ")";
      return false;
    }
    if (shape[i] == 0)
      zero = true;
  }
  if (zero) {
    count = 0;
    return true;
  }
  const uint64_t limit = UINT64_MAX / 4;
  for (size_t i = 0; i < shape.size(); ++i) {
    uint64_t d = static_cast<uint64_t>(shape[i]);
    if (count > limit / d) {
      why = "the element count of shape " + shape_string(shape) +
            " overflows 64 bits";
      return false;
    }
    count *= d;
  }
  return true;
}

/// Parser for the Python dict literal of a .npy header.
class HeaderParser {
public:
  HeaderParser(const char *begin, const char *end)
      : begin_(begin), p_(begin), end_(end) {}

  /// Parses the dict; on failure returns false with `why` set.
  bool parse(std::string &descr, bool &fortran, std::vector<int64_t> &shape,
             std::string &why) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    if (!expect('{', "'{' starting the header dict", why))
      return false;
    skip_space();
    while (p_ < end_ && *p_ != '}') {
      std::string key;
      if (!parse_string(key, "a quoted key", why) ||
          !expect(':', "':' after key '" + key + "'", why))
        return false;
      bool *seen = nullptr;
      if (key == "descr") {
        seen = &have_descr;
        skip_space();
        if (p_ < end_ && *p_ == '[')
          return error("a dtype string for 'descr' such as '<f4'", why,
                       " (a structured dtype)");
        if (!parse_string(descr, "a dtype string for 'descr'", why))
          return false;
      } else if (key == "fortran_order") {
        seen = &have_fortran;
        if (!parse_bool(fortran, why))
          return false;
      } else if (key == "shape") {
        seen = &have_shape;
        if (!parse_shape(shape, why))
          return false;
      } else {
        why = "unexpected key '" + key +
              "' in the header dict; expected only 'descr', "
              "'fortran_order' and 'shape'";
        return false;
      }
      if (*seen) {
        why = "key '" + key + "' appears twice in the header dict";
        return false;
      }
      *seen = true;
      skip_space();
      if (p_ < end_ && *p_ == ',')
        ++p_;
      else if (p_ < end_ && *p_ != '}')
        return error("',' or '}' after the value of '" + key + "'", why);
      skip_space();
    }
    if (!expect('}', "'}' closing the header dict", why))
      return false;
    skip_space();
    if (p_ != end_)
      return error("only padding after the header dict", why);
    const char *missing = !have_descr     ? "descr"
                          : !have_fortran ? "fortran_order"
                          : !have_shape   ? "shape"
                                          : nullptr;
    if (missing) {
      why = std::string("the header dict has no '") + missing + "' key";
      return false;
    }
    return true;
  }

private:
  void skip_space() {
    while (p_ < end_ &&
           (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
      ++p_;
  }

  /// Sets `why` to "expected <what>, found <current char> at offset N".
  bool error(const std::string &what, std::string &why,
             const char *extra = "") {
    std::string found;
    if (p_ >= end_)
      found = "the end of the header";
    else
      found = "'" +
              escape_bytes(reinterpret_cast<const unsigned char *>(p_), 1) +
              "'";
    why = "expected " + what + ", found " + found + extra +
          " at header offset " + std::to_string(p_ - begin_);
    return false;
  }

  bool expect(char c, const std::string &what, std::string &why) {
    skip_space();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return error(what, why);
  }

  bool parse_string(std::string &out, const std::string &what,
                    std::string &why) {
    skip_space();
    if (p_ >= end_ || (*p_ != '\'' && *p_ != '"'))
      return error(what, why);
    const char quote = *p_++;
    out.clear();
    while (p_ < end_ && *p_ != quote) {
      if (*p_ == '\\' && p_ + 1 < end_)
        ++p_;
      out += *p_++;
    }
    if (p_ >= end_)
      return error("a closing quote", why);
    ++p_;
    return true;
  }

  bool parse_bool(bool &out, std::string &why) {
    skip_space();
    const size_t left = static_cast<size_t>(end_ - p_);
    if (left >= 4 && std::memcmp(p_, "True", 4) == 0) {
      p_ += 4;
      out = true;
      return true;
    }
    if (left >= 5 && std::memcmp(p_, "False", 5) == 0) {
      p_ += 5;
      out = false;
      return true;
    }
    return error("True or False for 'fortran_order'", why);
  }

  bool parse_shape(std::vector<int64_t> &shape, std::string &why) {
    shape.clear();
    if (!expect('(', "a tuple such as (2, 3) for 'shape'", why))
      return false;
    skip_space();
    while (p_ < end_ && *p_ != ')') {
      const bool negative = *p_ == '-';
      if (negative)
        ++p_;
      if (p_ >= end_ || *p_ < '0' || *p_ > '9')
        return error("a dimension (an integer) in 'shape'", why);
      uint64_t v = 0;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
        v = v * 10 + static_cast<uint64_t>(*p_ - '0');
        if (v > static_cast<uint64_t>(INT64_MAX)) {
          why = "a dimension in 'shape' is too large";
          return false;
        }
        ++p_;
      }
      if (p_ < end_ && (*p_ == 'L' || *p_ == 'l')) // Python 2 long
        ++p_;
      if (negative) {
        why = "expected non-negative dimensions in 'shape', found -" +
              std::to_string(v);
        return false;
      }
      shape.push_back(static_cast<int64_t>(v));
      skip_space();
      if (p_ < end_ && *p_ == ',')
        ++p_;
      else if (p_ < end_ && *p_ != ')')
        return error("',' or ')' in 'shape'", why);
      skip_space();
    }
    return expect(')', "')' closing 'shape'", why);
  }

  const char *begin_, *p_, *end_;
};

/// Closes the FILE on scope exit.
struct FileCloser {
  std::FILE *f;
  ~FileCloser() {
    if (f)
      std::fclose(f);
  }
};

} // namespace detail

/// Reads a float32 C-order .npy (versions 1.0, 2.0, 3.0 headers). On failure
/// returns false and sets `error` to a message naming the file and what was
/// wrong (expected vs found: dtype like '<f4' vs '<f8', fortran_order true,
/// bad magic, truncated data, malformed header). A 0-d array gets shape {}
/// and one element.
inline bool read_f32(const char *path, std::vector<int64_t> &shape,
                     std::vector<float> &data, std::string &error) {
  using detail::fail;
  shape.clear();
  data.clear();
  if (!path)
    return fail(error, path, "no file name given");
  std::FILE *f = std::fopen(path, "rb");
  if (!f)
    return fail(error, path,
                std::string("cannot open .npy file for reading: ") +
                    std::strerror(errno));
  detail::FileCloser closer{f};

  // File size, to check header claims before allocating.
  if (std::fseek(f, 0, SEEK_END) != 0)
    return fail(error, path,
                std::string("cannot seek in .npy file: ") +
                    std::strerror(errno));
  const long end_pos = std::ftell(f);
  if (end_pos < 0 || std::fseek(f, 0, SEEK_SET) != 0)
    return fail(error, path,
                std::string("cannot determine the size of the .npy file: ") +
                    std::strerror(errno));
  const uint64_t file_size = static_cast<uint64_t>(end_pos);

  unsigned char prefix[12];
  const size_t got = std::fread(prefix, 1, 8, f);
  if (got < 8 && std::ferror(f))
    return fail(error, path,
                std::string("cannot read .npy file: ") + std::strerror(errno));
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (got < 6 || std::memcmp(prefix, magic, 6) != 0)
    return fail(error, path,
                "bad magic: expected a .npy file starting with \\x93NUMPY, "
                "found '" +
                    detail::escape_bytes(prefix, got < 6 ? got : 6) + "'" +
                    (got < 6 ? " (file of " + std::to_string(got) + " bytes)"
                             : std::string()));
  if (got < 8)
    return fail(error, path,
                "truncated header: the file ends inside the version bytes");
  const unsigned major = prefix[6], minor = prefix[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return fail(error, path,
                "unsupported .npy format version " + std::to_string(major) +
                    "." + std::to_string(minor) + ", expected 1.0, 2.0 or 3.0");
  const size_t len_size = major == 1 ? 2 : 4;
  if (std::fread(prefix + 8, 1, len_size, f) != len_size)
    return fail(error, path,
                "truncated header: the file ends inside the header length");
  uint64_t header_len = 0;
  for (size_t i = 0; i < len_size; ++i)
    header_len |= static_cast<uint64_t>(prefix[8 + i]) << (8 * i);
  const uint64_t header_end = 8 + len_size + header_len;
  if (header_end > file_size)
    return fail(error, path,
                "truncated header: the header length is " +
                    std::to_string(header_len) + " bytes but only " +
                    std::to_string(file_size - 8 - len_size) + " bytes follow");
  std::string header(static_cast<size_t>(header_len), '\0');
  if (header_len > 0 &&
      std::fread(&header[0], 1, header.size(), f) != header.size())
    return fail(error, path, "error reading the .npy header");

  std::string descr, why;
  bool fortran = false;
  detail::HeaderParser parser(header.data(), header.data() + header.size());
  if (!parser.parse(descr, fortran, shape, why)) {
    shape.clear();
    std::string shown = header;
    while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n'))
      shown.pop_back();
    if (shown.size() > 200)
      shown = shown.substr(0, 200) + "...";
    return fail(error, path,
                "malformed header: " + why + " (header: " +
                    detail::escape_bytes(
                        reinterpret_cast<const unsigned char *>(shown.data()),
                        shown.size()) +
                    ")");
  }
  if (descr != "<f4") {
    shape.clear();
    return fail(error, path,
                "expected dtype '<f4' (little-endian float32), found '" +
                    descr + "'");
  }
  if (fortran) {
    shape.clear();
    return fail(error, path,
                "expected a C-order array (fortran_order False), found "
                "fortran_order True; save np.ascontiguousarray(a) instead");
  }
  uint64_t count = 0;
  if (!detail::element_count(shape, count, why)) {
    shape.clear();
    return fail(error, path, "malformed header: " + why);
  }
  const uint64_t need = count * 4, have = file_size - header_end;
  if (have < need) {
    const std::string s = detail::shape_string(shape);
    shape.clear();
    return fail(error, path,
                "truncated data: expected " + std::to_string(need) +
                    " bytes of float32 data for shape " + s + ", found " +
                    std::to_string(have));
  }
  if (have > need) {
    const std::string s = detail::shape_string(shape);
    shape.clear();
    return fail(error, path,
                "expected " + std::to_string(need) +
                    " bytes of float32 data for shape " + s + ", found " +
                    std::to_string(have) + " (" + std::to_string(have - need) +
                    " extra bytes at the end of the file)");
  }
  data.resize(static_cast<size_t>(count));
  if (count > 0 && std::fread(data.data(), 4, data.size(), f) != data.size()) {
    shape.clear();
    data.clear();
    return fail(error, path, "error reading the .npy data");
  }
  if (!detail::host_is_little_endian())
    detail::swap_words(data.data(), data.size());
  return true;
}

namespace detail {

/// The header of a version 1.0 .npy file of 4-byte elements `descr`
/// ('<f4', '<i4') and `shape`: magic, version, length and the dict, padded
/// so the data starts at a multiple of 64 bytes as numpy does. False (and
/// `why`) if the shape is invalid or the header too long.
inline bool header_bytes(const char *descr, const std::vector<int64_t> &shape,
                         std::string &bytes, uint64_t &count,
                         std::string &why) {
  if (!element_count(shape, count, why))
    return false;
  std::string header =
      std::string("{'descr': '") + descr +
      "', 'fortran_order': False, 'shape': " + shape_string(shape) + ", }";
  // magic (6) + version (2) + length (2) + header + '\n' = multiple of 64.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 65535) {
    why = "the header for shape " + shape_string(shape) +
          " is longer than a version 1.0 header can be";
    return false;
  }
  const char prefix[10] = {'\x93',
                           'N',
                           'U',
                           'M',
                           'P',
                           'Y',
                           1,
                           0,
                           static_cast<char>(header.size() & 0xff),
                           static_cast<char>(header.size() >> 8)};
  bytes.assign(prefix, sizeof prefix);
  bytes += header;
  return true;
}

} // namespace detail

/// The bytes of a C-order .npy version 1.0 file holding `shape` elements of
/// the 4-byte little-endian type `descr` ('<f4' or '<i4') taken from
/// `words` (host order; the product of `shape` words, one for shape {}).
/// Returns false and sets `error` (naming `name`) on failure.
inline bool encode(const char *name, const char *descr,
                   const std::vector<int64_t> &shape, const void *words,
                   std::string &bytes, std::string &error) {
  uint64_t count = 0;
  std::string why;
  if (!detail::header_bytes(descr, shape, bytes, count, why))
    return detail::fail(error, name, "cannot write .npy: " + why);
  if (count > 0 && !words)
    return detail::fail(error, name,
                        "cannot write .npy: no data given for shape " +
                            detail::shape_string(shape));
  const size_t start = bytes.size();
  bytes.append(static_cast<const char *>(words),
               static_cast<size_t>(count) * 4);
  if (!detail::host_is_little_endian())
    detail::swap_words(&bytes[start], static_cast<size_t>(count));
  return true;
}

/// Writes a float32 C-order .npy version 1.0 file, the header padded so the
/// data starts at a multiple of 64 bytes as numpy does. `data` holds the
/// product of `shape` elements (one for shape {}). Returns false and sets
/// `error` on failure.
inline bool write_f32(const char *path, const std::vector<int64_t> &shape,
                      const float *data, std::string &error) {
  using detail::fail;
  if (!path)
    return fail(error, path, "no file name given");
  uint64_t count = 0;
  std::string why, header;
  if (!detail::header_bytes("<f4", shape, header, count, why))
    return fail(error, path, "cannot write .npy: " + why);
  if (count > 0 && !data)
    return fail(error, path,
                "cannot write .npy: no data given for shape " +
                    detail::shape_string(shape));

  std::FILE *f = std::fopen(path, "wb");
  if (!f)
    return fail(error, path,
                std::string("cannot open .npy file for writing: ") +
                    std::strerror(errno));
  bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
  if (ok && count > 0) {
    if (detail::host_is_little_endian()) {
      ok = std::fwrite(data, 4, static_cast<size_t>(count), f) == count;
    } else {
      float chunk[1024];
      for (uint64_t i = 0; ok && i < count; i += 1024) {
        const size_t n =
            static_cast<size_t>(count - i < 1024 ? count - i : 1024);
        std::memcpy(chunk, data + i, n * 4);
        detail::swap_words(chunk, n);
        ok = std::fwrite(chunk, 4, n, f) == n;
      }
    }
  }
  int err = ok ? 0 : errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    std::remove(path);
    return fail(error, path,
                std::string("error writing .npy file: ") +
                    (err ? std::strerror(err) : "short write"));
  }
  return true;
}

} // namespace kiln_npy
