#pragma once
// An optimizer's whole state as plain data: each group's options as numbers and each
// parameter's state as integers, reals and tensors. Checkpoints store this instead of
// LibTorch's archive (src/run/checkpoint.cpp).

#include <ATen/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace swd {
namespace optim {

struct StateRecord {
  struct Param {
    std::size_t group = 0;  ///< position of the parameter: group, then index within the group
    std::size_t index = 0;
    std::map<std::string, int64_t> integers;
    std::map<std::string, double> reals;
    std::map<std::string, at::Tensor> tensors;
  };
  /// Options by field name; booleans are 0/1, tuples "name.0"/"name.1", enums their code.
  std::vector<std::map<std::string, double>> groups;
  std::vector<Param> params;  ///< parameters that have state
};

}  // namespace optim
}  // namespace swd
