// swd._ext: the C++ side of the Python package (python/swd/optim.py wraps it in
// torch.optim.Optimizer subclasses; docs/PYTHON.md). A Handle owns one swd optimizer
// (docs/OPTIMIZERS.md) over the very tensors Python holds: torch's type caster shares the
// TensorImpl, so parameters, gradients and state pass without copies. Every step() first takes
// each group's parameters and options from Python (an lr changed by a scheduler, a group added
// with add_param_group), validates them all, then runs the library's step.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <torch/csrc/utils/pybind.h>  // at::Tensor <-> torch.Tensor

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

#include "swd/optim/adai.h"
#include "swd/optim/adam.h"
#include "swd/optim/compat.h"
#include "swd/optim/sgd.h"

namespace py = pybind11;
namespace so = swd::optim;

namespace {

/// A group's options as numbers: the field names of the family's options struct, booleans 0/1,
/// betas "betas.0"/"betas.1", the decay mode its code (swd/optim/options.h).
using Numbers = std::map<std::string, double>;
using Group = std::pair<std::vector<at::Tensor>, Numbers>;
/// One parameter's state: (group, index in the group, integers, reals, tensors).
using ParamRecord = std::tuple<std::size_t, std::size_t, std::map<std::string, int64_t>,
                               std::map<std::string, double>, std::map<std::string, at::Tensor>>;

/// The library's messages with Python's spelling of the class ("swd.optim.Adam").
std::string python_spelling(std::string message) {
  const std::string from = "swd::optim::";
  for (auto at = message.find(from); at != std::string::npos; at = message.find(from, at)) {
    message.replace(at, from.size(), "swd.optim.");
  }
  return message;
}

/// Complete, validated options of family `Optimizer` from numbers; std::invalid_argument names
/// the bad option and `where`.
template <typename Optimizer>
std::unique_ptr<torch::optim::OptimizerOptions> make_options(const Numbers& numbers,
                                                             const std::string& where) {
  using Options = typename Optimizer::options_type;
  auto options = std::make_unique<Options>(0.0);
  options->from_numbers(numbers);  // every field is set: nothing inherits from the defaults
  so::validate(*options, where);
  return options;
}

template <typename Optimizer>
std::unique_ptr<so::OptimizerBase> make_optimizer(
    std::vector<torch::optim::OptimizerParamGroup> groups) {
  // A copy: the groups are moved into the optimizer, and the defaults outlive them.
  const auto defaults = static_cast<const typename Optimizer::options_type&>(groups[0].options());
  return std::make_unique<Optimizer>(std::move(groups), defaults);
}

using OptionsMaker = std::unique_ptr<torch::optim::OptimizerOptions> (*)(const Numbers&,
                                                                        const std::string&);

class Handle {
 public:
  /// family: "sgd", "adam" or "adai"; groups: each group's parameters and options.
  Handle(const std::string& family, const std::vector<Group>& groups) {
    decltype(&make_optimizer<so::Adam>) construct = nullptr;
    if (family == "sgd") {
      make_options_ = &make_options<so::SGD>;
      construct = &make_optimizer<so::SGD>;
    } else if (family == "adam") {
      make_options_ = &make_options<so::Adam>;
      construct = &make_optimizer<so::Adam>;
    } else if (family == "adai") {
      make_options_ = &make_options<so::Adai>;
      construct = &make_optimizer<so::Adai>;
    } else {
      throw py::value_error("unknown optimizer family '" + family +
                            "' (expected sgd, adam or adai)");
    }
    if (groups.empty()) throw py::value_error("optimizer got no parameter group");
    auto options = all_options(groups);
    std::vector<torch::optim::OptimizerParamGroup> param_groups;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      param_groups.emplace_back(groups[g].first, std::move(options[g]));
    }
    optimizer_ = construct(std::move(param_groups));
  }

  /// Takes every group's parameters and options from Python. A bad option raises ValueError
  /// before anything changed.
  void sync(const std::vector<Group>& groups) {
    auto& current = optimizer_->param_groups();
    if (groups.size() < current.size()) {
      throw py::value_error("param_groups has " + std::to_string(groups.size()) +
                            " groups, fewer than the " + std::to_string(current.size()) +
                            " the optimizer was given (groups cannot be removed)");
    }
    auto options = all_options(groups);
    bool params_changed = false;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (g == current.size()) {
        torch::optim::OptimizerParamGroup added(groups[g].first, std::move(options[g]));
        optimizer_->add_param_group(added);
        continue;
      }
      if (!same_tensors(current[g].params(), groups[g].first)) {
        current[g].params() = groups[g].first;
        params_changed = true;
      }
      current[g].set_options(std::move(options[g]));
    }
    if (params_changed) drop_orphaned_state();
  }

  /// sync, then one step of the library's update.
  void step(const std::vector<Group>& groups) {
    sync(groups);
    py::gil_scoped_release no_gil;  // the step touches no Python object
    optimizer_->step();
  }

  /// (each group's options as numbers, [(group, index, integers, reals, tensors)]); the
  /// tensors are the optimizer's own, not copies.
  std::pair<std::vector<Numbers>, std::vector<ParamRecord>> export_state() const {
    const so::StateRecord record = optimizer_->export_state();
    std::vector<ParamRecord> params;
    for (const auto& p : record.params) {
      params.emplace_back(p.group, p.index, p.integers, p.reals, p.tensors);
    }
    return {record.groups, params};
  }

  /// Replaces every group's options and every parameter's state (tensors are copied); raises
  /// ValueError saying what does not fit, and then nothing has changed.
  void import_state(const std::vector<Numbers>& groups, const std::vector<ParamRecord>& params) {
    so::StateRecord record;
    record.groups = groups;
    for (const auto& [group, index, integers, reals, tensors] : params) {
      so::StateRecord::Param p;
      p.group = group;
      p.index = index;
      p.integers = integers;
      p.reals = reals;
      p.tensors = tensors;
      record.params.push_back(std::move(p));
    }
    try {
      optimizer_->import_state(record);
    } catch (const std::runtime_error& e) {
      throw py::value_error(python_spelling(e.what()));
    }
  }

  std::optional<at::Tensor> vbar() const {
    const auto& v = optimizer_->vbar();
    if (!v.defined()) return std::nullopt;
    return v;
  }
  std::size_t fused_parameters() const { return optimizer_->fused_parameters(); }

 private:
  std::vector<std::unique_ptr<torch::optim::OptimizerOptions>> all_options(
      const std::vector<Group>& groups) const {
    std::vector<std::unique_ptr<torch::optim::OptimizerOptions>> options;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      try {
        options.push_back(make_options_(groups[g].second, "parameter group " + std::to_string(g)));
      } catch (const std::exception& e) {  // invalid_argument (value), runtime_error (missing)
        throw py::value_error(python_spelling(e.what()));
      }
    }
    return options;
  }

  static bool same_tensors(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_same(b[i])) return false;
    }
    return true;
  }

  /// State of parameters no longer in any group goes (its key, an address, could be reused).
  void drop_orphaned_state() {
    std::unordered_set<so::compat::StateKey> live;
    for (const auto& group : optimizer_->param_groups()) {
      for (const auto& p : group.params()) live.insert(so::compat::state_key(p));
    }
    auto& state = optimizer_->state();
    for (auto it = state.begin(); it != state.end();) {
      it = live.count(it->first) ? std::next(it) : state.erase(it);
    }
  }

  std::unique_ptr<so::OptimizerBase> optimizer_;
  OptionsMaker make_options_ = nullptr;
};

}  // namespace

PYBIND11_MODULE(_ext, m) {
  m.doc() = "swd's fused optimizer steps (use swd.optim, not this module)";
  m.def(
      "decay_code",
      [](const std::string& name) {
        try {
          return static_cast<int>(so::decay_from_string(name));
        } catch (const std::invalid_argument& e) {
          throw py::value_error(std::string("invalid decay: ") + e.what());
        }
      },
      "The number that stands for a weight-decay mode in a group's options.");
  py::class_<Handle>(m, "Optimizer")
      .def(py::init<const std::string&, const std::vector<Group>&>(), py::arg("family"),
           py::arg("groups"))
      .def("sync", &Handle::sync, py::arg("groups"))
      .def("step", &Handle::step, py::arg("groups"))
      .def("export_state", &Handle::export_state)
      .def("import_state", &Handle::import_state, py::arg("groups"), py::arg("params"))
      .def_property_readonly("vbar", &Handle::vbar)
      .def_property_readonly("fused_parameters", &Handle::fused_parameters);
}
