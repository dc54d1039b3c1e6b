// Formatting of user errors and the abort path of internal errors.
#include "support/error.h"

#include <cstdio>
#include <cstdlib>

namespace kiln {

static std::string formatError(const std::string &file,
                               const std::string &location,
                               const std::string &message) {
  std::string s;
  if (!file.empty())
    s += file + ": ";
  if (!location.empty())
    s += location + ": ";
  return s + message;
}

Error::Error(std::string file, std::string location, std::string message)
    : std::runtime_error(formatError(file, location, message)),
      file_(std::move(file)), location_(std::move(location)),
      message_(std::move(message)) {}

void internalError(const char *file, int line, const char *cond,
                   const std::string &detail) {
  std::fprintf(stderr, "kiln: internal error at %s:%d: %s failed: %s\n", file,
               line, cond, detail.c_str());
  std::abort();
}

} // namespace kiln
