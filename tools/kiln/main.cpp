// The `kiln` driver: parses the command line, runs a subcommand, and turns
// user errors into one clear message and a non-zero exit.
#include "support/error.h"
#include "tools/kiln/cli.h"
#include "tools/kiln/commands.h"
#include "tools/kiln/huge_pages.h"

#include <cstdio>
#include <cstring>
#include <new>

int main(int argc, char **argv) {
  kiln::rememberCommandLine(argc, argv);
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0)
    return kiln::commands::version();
  if (argc == 2 && std::strcmp(argv[1], "--list-passes") == 0)
    return kiln::commands::listPasses();
  try {
    kiln::cli::Options o = kiln::cli::parse(argc, argv);
    if (o.command == "list-passes")
      return kiln::commands::listPasses();
    if (o.command == "opt")
      return kiln::commands::opt(o);
    if (o.command == "compile")
      return kiln::commands::compile(o);
    if (o.command == "build")
      return kiln::commands::build(o);
    if (o.command == "info")
      return kiln::commands::info(o);
    return kiln::commands::run(o);
  } catch (const kiln::Error &e) {
    if (e.message().rfind("help\n", 0) == 0) {
      std::fputs(kiln::cli::usage(), stdout);
      return 0;
    }
    std::fprintf(stderr, "kiln: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "kiln: error: out of memory\n");
    return 1;
  }
}
