// Executing the driver again with glibc's huge-page tunable (huge_pages.h).
#include "tools/kiln/huge_pages.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
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
  const char *old = std::getenv("GLIBC_TUNABLES");
  if (old && std::strstr(old, "glibc.malloc.hugetlb"))
    return;
  uintmax_t minBytes = uintmax_t(64) << 20;
  if (const char *m = std::getenv("KILN_HUGE_PAGES_MIN_BYTES"))
    minBytes = std::strtoull(m, nullptr, 10);
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(weightsPath, ec);
  if (ec || bytes < minBytes || !thpOnRequest() || commandLine().size() < 2)
    return;
  std::string tunables = old && *old ? std::string(old) + ":" : "";
  tunables += kTunable;
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0)
    return;
  std::fflush(nullptr);
  execv("/proc/self/exe", commandLine().data());
  // Not executed (no /proc, say): go on as it is, without the tunable.
  if (old)
    setenv("GLIBC_TUNABLES", old, 1);
  else
    unsetenv("GLIBC_TUNABLES");
#else
  (void)weightsPath;
#endif
}

} // namespace kiln
