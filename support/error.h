// Kiln's two kinds of error: user errors (kiln::Error, thrown and reported by
// the driver with file, location and message) and internal errors
// (KILN_ASSERT, a bug in Kiln: abort with the failed condition).
#pragma once

#include <stdexcept>
#include <string>

namespace kiln {

/// A problem with the user's input. `file` is the file the problem is about
/// (model JSON, safetensors, .npy, .kir), `location` where in it (a JSON path
/// such as `model.modules.features.layers[3].kernel_size`, `line 3, column 7`,
/// or empty), `message` what was expected and what was found.
class Error : public std::runtime_error {
public:
  Error(std::string file, std::string location, std::string message);

  const std::string &file() const { return file_; }
  const std::string &location() const { return location_; }
  const std::string &message() const { return message_; }

private:
  std::string file_, location_, message_;
};

/// Reports an internal error (a bug in Kiln, never bad input) and aborts.
[[noreturn]] void internalError(const char *file, int line, const char *cond,
                                const std::string &detail);

} // namespace kiln

/// Checks an internal invariant; a failure is a bug in Kiln.
#define KILN_ASSERT(cond, detail)                                              \
  do {                                                                         \
    if (!(cond))                                                               \
      ::kiln::internalError(__FILE__, __LINE__, #cond, (detail));              \
  } while (0)
