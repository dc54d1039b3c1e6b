// Executing the driver again with glibc's huge-page tunable (huge_pages.h).
#include "tools/kiln/huge_pages.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace kiln {

namespace {

constexpr const char *kTunable = "glibc.malloc.hugetlb=1";

/// The command line of this run (the driver's own, set once in main()).
std::vector<char *> &commandLine() {
  static std::vector<char *> argv;
  return argv;
}

/// Whether the kernel's transparent huge pages are in `madvise` mode (with
/// `always` every large block has them already; with `never` none can).
bool thpOnRequest() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  std::getline(f, mode);
  return mode.find("[madvise]") != std::string::npos;
}

} // namespace

void rememberCommandLine(int argc, char **argv) {
  commandLine().assign(argv, argv + argc);
  commandLine().push_back(nullptr);
}

void useHugePagesFor(const std::string &weightsPath) {
#ifdef __GLIBC__
  const char *off = std::getenv("KILN_HUGE_PAGES");
  if (off && std::strcmp(off, "0") == 0)
    return;
  const char *tun = std::getenv("GLIBC_TUNABLES");
  // A copy: setenv may invalidate what getenv returned.
  const std::optional<std::string> old =
      tun ? std::optional<std::string>(tun) : std::nullopt;
  if (old && old->find("glibc.malloc.hugetlb") != std::string::npos)
    return;
  uintmax_t minBytes = uintmax_t(64) << 20;
  if (const char *m = std::getenv("KILN_HUGE_PAGES_MIN_BYTES")) {
    // A bad value keeps the default.
    char *end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(m, &end, 10);
    if (*m && end && !*end && errno == 0)
      minBytes = v;
  }
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(weightsPath, ec);
  if (ec || bytes < minBytes || !thpOnRequest() || commandLine().size() < 2)
    return;
  std::string tunables = old && !old->empty() ? *old + ":" : "";
  tunables += kTunable;
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0)
    return;
  std::fflush(nullptr);
  execv("/proc/self/exe", commandLine().data());
  // Not executed (no /proc, say): go on as it is, without the tunable.
  if (old)
    setenv("GLIBC_TUNABLES", old->c_str(), 1);
  else
    unsetenv("GLIBC_TUNABLES");
#else
  (void)weightsPath;
#endif
}

} // namespace kiln
