// The initialisation rules of the model format (a module's `initializers`):
// parsing `{"scheme": ..., args}` objects with located errors, PyTorch's fan
// and gain computations (torch.nn.init, PyTorch 1.13), and filling a tensor
// deterministically from (seed, parameter name).
#pragma once

#include "frontend/json_node.h"
#include "ir/shape.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kiln {

/// One `initializers` rule: {"scheme": ..., args}.
///
/// Only the fields of the rule's scheme are meaningful; the others keep their
/// defaults. Defaults are PyTorch's: uniform(a=0, b=1), normal(mean=0,
/// std=1), xavier_*(gain=1), kaiming_*(a=0, mode="fan_in",
/// nonlinearity="leaky_relu").
struct InitRule {
  enum class Scheme {
    Uniform,        ///< U(a, b)
    Normal,         ///< N(mean, std^2)
    Constant,       ///< val
    Zeros,          ///< 0
    Ones,           ///< 1
    XavierUniform,  ///< U(-bound, bound), bound = gain*sqrt(6/(fan_in+fan_out))
    XavierNormal,   ///< N(0, std^2), std = gain*sqrt(2/(fan_in+fan_out))
    KaimingUniform, ///< U(-bound, bound), bound = sqrt(3)*gain/sqrt(fan)
    KaimingNormal,  ///< N(0, std^2), std = gain/sqrt(fan)
  };
  Scheme scheme = Scheme::Uniform;
  /// uniform: lower bound; kaiming_*: negative slope given to calculateGain.
  double a = 0;
  /// uniform: upper bound.
  double b = 1;
  /// normal: mean and standard deviation.
  double mean = 0, std = 1;
  /// constant: the value.
  double val = 0;
  /// xavier_*: scaling factor.
  double gain = 1;
  /// kaiming_*: mode "fan_out" (true) or "fan_in" (false).
  bool fanOut = false;
  /// kaiming_*: the nonlinearity given to calculateGain.
  std::string nonlinearity = "leaky_relu";
};

/// The scheme's name as written in JSON (`xavier_uniform`).
const char *schemeName(InitRule::Scheme scheme);

/// Parses a rule; every error names the JSON path (unknown scheme with the
/// nearest valid one, unknown or mistyped keys with the nearest valid key,
/// arguments a scheme does not take, std < 0, a > b, mode not
/// fan_in/fan_out, nonlinearity not one PyTorch's calculate_gain knows).
///
/// Also refused, where PyTorch refuses them: xavier `gain` < 0 (a negative
/// bound or std), and uniform/normal/constant numbers outside float32's range.
/// `mode` is compared case-insensitively, as PyTorch does (`mode.lower()`).
InitRule parseInitRule(const JsonNode &node);

/// Parses a module's "initializers" object: parameter name -> rule. Keys must
/// be parameter names the layer has (`allowed`); others are an error naming
/// the nearest.
std::map<std::string, InitRule>
parseInitializers(const JsonNode &node,
                  const std::vector<std::string> &allowed);

/// PyTorch's fan computation (_calculate_fan_in_and_fan_out): {fan_in,
/// fan_out} = {shape[1], shape[0]} times the product of shape[2:]. Throws
/// kiln::Error (no file or location) for tensors of < 2 dims, as PyTorch
/// raises; callers with a JSON location check the rank first.
std::pair<int64_t, int64_t> fans(const Shape &shape);

/// PyTorch's calculate_gain: linear, conv*, conv_transpose*, sigmoid -> 1;
/// tanh -> 5/3; relu -> sqrt(2); leaky_relu -> sqrt(2/(1+slope^2)) with slope
/// `param` (0.01 when nullopt); selu -> 3/4. Throws kiln::Error (no file or
/// location) for any other name.
double calculateGain(const std::string &nonlinearity,
                     std::optional<double> param);

/// Fills `out` (numElements(shape) floats) deterministically from (seed,
/// name): the same inputs always give the same numbers; different names give
/// independent streams. Xavier/Kaiming on a tensor of < 2 dims is a user
/// error thrown with `where` (a JsonNode) naming the parameter.
///
/// `out` is resized to numElements(shape). Values are drawn in double
/// (xoshiro256** seeded by splitmix64 from seed and the FNV-1a hash of
/// `name`; normals by Box-Muller) and rounded to float. As in PyTorch,
/// kaiming_* on a tensor with a zero-size dimension is a no-op.
void fillByRule(const InitRule &rule, const Shape &shape, uint64_t seed,
                const std::string &name, const JsonNode &where,
                std::vector<float> &out);

} // namespace kiln
