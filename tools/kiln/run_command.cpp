// `kiln run`: evaluates a model with the reference interpreter on .npy
// inputs and writes or prints its outputs (and, with --dump-values, every
// intermediate value).
#include "ir/interpreter.h"
#include "kiln/npy.h"
#include "support/error.h"
#include "tools/kiln/commands.h"
#include "tools/kiln/value_dump.h"

#include <cstdio>
#include <optional>

namespace kiln::commands {

int run(const cli::Options &o) {
  std::unique_ptr<Graph> g = load(o, false);
  std::vector<std::vector<float>> inputs(g->inputs.size());
  std::vector<bool> given(g->inputs.size());
  for (const auto &[name, file] : o.inputs) {
    size_t i = 0;
    while (i < g->inputs.size() && g->inputs[i]->name != name)
      ++i;
    if (i == g->inputs.size())
      throw Error("kiln", "--input",
                  "the model has no input named \"" + name + "\"");
    std::vector<int64_t> shape;
    std::string err;
    if (!kiln_npy::read_f32(file.c_str(), shape, inputs[i], err))
      throw Error(file, "", err);
    if (shape != g->inputs[i]->shape)
      throw Error(file, "",
                  "input " + name + " must have shape " +
                      shapeToString(g->inputs[i]->shape) + ", found " +
                      shapeToString(shape));
    given[i] = true;
  }
  for (size_t i = 0; i < given.size(); ++i)
    if (!given[i])
      throw Error("kiln", "",
                  "missing --input " + g->inputs[i]->name + "=FILE.npy");
  std::optional<ValueDump> dump;
  ValueObserver observe;
  if (!o.dumpValues.empty()) {
    dump.emplace(*g, o.model, pipeline(o, false));
    for (size_t i = 0; i < inputs.size(); ++i)
      dump->add(*g->inputs[i], inputs[i]);
    dump->prepare(o.dumpValues);
    observe = [&](const Value &v, const std::vector<float> &d) {
      dump->add(v, d);
    };
  }
  auto outputs = interpret(*g, inputs, observe);
  if (dump)
    dump->write();
  std::vector<bool> written(outputs.size());
  for (const auto &[name, file] : o.outputs) {
    size_t i = 0;
    while (i < g->outputs.size() && g->outputs[i].first != name)
      ++i;
    if (i == g->outputs.size())
      throw Error("kiln", "--output",
                  "the model has no output named \"" + name + "\"");
    std::string err;
    if (!kiln_npy::write_f32(file.c_str(), g->outputs[i].second->shape,
                             outputs[i].data(), err))
      throw Error(file, "", err);
    written[i] = true;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (written[i])
      continue;
    const Shape &s = g->outputs[i].second->shape;
    std::printf("%s: float32 %s\n", g->outputs[i].first.c_str(),
                shapeToString(s).c_str());
    size_t row = s.empty() ? 1 : size_t(s.back());
    for (size_t j = 0; j < outputs[i].size(); ++j)
      std::printf("%s%.9g%s", j % row ? " " : "  ", double(outputs[i][j]),
                  (j + 1) % row == 0 ? "\n" : "");
  }
  return 0;
}

} // namespace kiln::commands
