#pragma once
// Everything that differs between LibTorch versions lives here, nowhere else.
//  - The optimizer state map is keyed by a string of the TensorImpl address in 1.x and by the
//    address itself in 2.x: state_key() hides which.
//  - LibTorch's optimizer loader restores per-parameter state but not the groups' options
//    (a decayed learning rate, say): load_group_options() restores them.

#include <torch/optim/optimizer.h>
#include <torch/optim/serialize.h>
#include <torch/serialize/archive.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace swd {
namespace optim {
namespace compat {

using StateMap =
    std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;
using StateKey = typename StateMap::key_type;

/// The key of `param`'s entry in torch::optim::Optimizer::state().
template <typename Key = StateKey>
Key state_key(const at::Tensor& param) {
  if constexpr (std::is_same_v<Key, std::string>) {
    return c10::guts::to_string(param.unsafeGetTensorImpl());
  } else {
    return param.unsafeGetTensorImpl();
  }
}

/// Replaces each group's options by the ones saved in `archive` (written by
/// torch::optim::serialize). The number of groups must match, as LibTorch's loader checks.
template <typename Options>
void load_group_options(torch::serialize::InputArchive& archive,
                        torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive groups_archive;
  archive.read("param_groups", groups_archive);
  std::vector<std::pair<std::vector<std::string>,
                        std::unique_ptr<torch::optim::OptimizerOptions>>>
      saved;
  torch::optim::detail::serialize<Options>(groups_archive, saved);
  auto& groups = optimizer.param_groups();
  if (saved.size() != groups.size()) {
    throw std::runtime_error("the loaded optimizer has " + std::to_string(saved.size()) +
                             " parameter groups, this one has " + std::to_string(groups.size()));
  }
  for (size_t i = 0; i < saved.size(); ++i) groups[i].set_options(std::move(saved[i].second));
}

}  // namespace compat
}  // namespace optim
}  // namespace swd
