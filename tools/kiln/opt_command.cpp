// `kiln opt FILE.kir`: the pass-testing driver, in the manner of mlir-opt:
// parses a textual IR file, runs the requested passes (none by default),
// prints the result to stdout (or -o FILE).
#include "ir/parser.h"
#include "ir/printer.h"
#include "support/error.h"
#include "support/file_output.h"
#include "tools/kiln/commands.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace kiln::commands {

int opt(const cli::Options &o) {
  std::ifstream in(o.model, std::ios::binary);
  if (!in)
    throw Error(o.model, "", "cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  std::unique_ptr<Graph> g = parseGraph(text.str(), o.model);
  optimize(*g, o, false);
  std::string out = printGraph(*g, o.instr.print);
  if (o.output.empty())
    std::fputs(out.c_str(), stdout);
  else
    writeFiles(".", {{o.output, out}});
  return 0;
}

} // namespace kiln::commands
