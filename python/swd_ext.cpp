// swd._ext: the C++ side of the Python package (python/swd/_base.py wraps it in
// torch.optim.Optimizer subclasses; docs/PYTHON.md). A Handle owns one swd optimizer
// (docs/OPTIMIZERS.md) over the very tensors Python holds: torch's type caster shares the
// TensorImpl, so parameters, gradients and state pass without copies. Every step() first takes
// each group's parameters and options from Python (an lr changed by a scheduler, a group added
// with add_param_group), validates them all, then runs the library's step.
//
// Complex parameters are stepped as torch.optim steps them: as pairs of reals. The library
// sees view_as_real(param) (shared memory, a trailing dimension of 2) with view_as_real(grad),
// and its state has that shape; state going out to Python is view_as_complex of it, and
// complex state coming in is viewed as real again.

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
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "swd/optim/compat.h"
#include "swd/optim/families.h"

namespace py = pybind11;
namespace so = swd::optim;

namespace {

/// A group's options as numbers: the field names of the family's options struct, booleans 0/1,
/// betas "betas.0"/"betas.1", the decay mode its code (swd/optim/options.h).
using Numbers = std::map<std::string, double>;
using Group = std::pair<std::vector<at::Tensor>, Numbers>;
/// One parameter's state as plain data: (integers, reals, tensors).
using Entry = std::tuple<std::map<std::string, int64_t>, std::map<std::string, double>,
                         std::map<std::string, at::Tensor>>;
/// One parameter's state with its position: (group, index in the group, integers, reals,
/// tensors).
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

/// The family's state of one parameter as an Entry (the optimizer's own tensors).
template <typename Optimizer>
Entry entry_of(const torch::optim::OptimizerParamState& state) {
  so::StateRecord::Param record;
  static_cast<const typename Optimizer::state_type&>(state).to_record(record);
  return {record.integers, record.reals, record.tensors};
}

/// A new state of the family for `param` from an Entry (tensors copied, in the parameter's
/// layout); std::runtime_error names what does not fit.
template <typename Optimizer>
std::unique_ptr<torch::optim::OptimizerParamState> state_from(const Entry& entry,
                                                              const at::Tensor& param) {
  so::StateRecord::Param record;
  std::tie(record.integers, record.reals, record.tensors) = entry;
  auto state = std::make_unique<typename Optimizer::state_type>();
  state->from_record(record, param);
  return state;
}

/// The kind of one state field: "integer", "real" or "tensor" (param_state.h).
template <typename C, typename T>
std::pair<std::string, std::string> field_kind(const so::StateField<C, T>& field) {
  if constexpr (std::is_same_v<T, torch::Tensor>) return {field.name, "tensor"};
  if constexpr (std::is_same_v<T, double>) return {field.name, "real"};
  return {field.name, "integer"};
}

/// The family's per-parameter state fields and their kinds, in the order the state lists them.
template <typename Optimizer>
std::vector<std::pair<std::string, std::string>> state_fields() {
  std::vector<std::pair<std::string, std::string>> fields;
  std::apply([&](const auto&... field) { (fields.push_back(field_kind(field)), ...); },
             Optimizer::state_type::fields());
  return fields;
}

using OptionsMaker = std::unique_ptr<torch::optim::OptimizerOptions> (*)(const Numbers&,
                                                                        const std::string&);
using EntryOf = Entry (*)(const torch::optim::OptimizerParamState&);
using StateFrom = std::unique_ptr<torch::optim::OptimizerParamState> (*)(const Entry&,
                                                                        const at::Tensor&);
using Construct = std::unique_ptr<so::OptimizerBase> (*)(std::vector<torch::optim::OptimizerParamGroup>);

/// The real views that the library steps in place of complex parameters, one per parameter for
/// as long as it is stepped (the library keys its state by the view).
class RealViews {
 public:
  /// What the library steps for `param`: the parameter itself, or its real view (made on first
  /// use, and made again, its state in `optimizer` following it, where `param.data` was
  /// replaced).
  at::Tensor stepped(const at::Tensor& param, torch::optim::Optimizer* optimizer) {
    if (!param.is_complex()) return param;
    if (param.is_conj()) {
      throw py::value_error("a complex parameter with its conjugate bit set cannot be stepped in "
                            "place (call resolve_conj() on it first)");
    }
    auto& entry = views_[param.unsafeGetTensorImpl()];
    if (entry.view.defined() && entry.view.data_ptr() == param.data_ptr() &&
        entry.view.sizes().slice(0, param.dim()).equals(param.sizes()) &&
        entry.view.dtype() == at::toRealValueType(param.scalar_type())) {
      return entry.view;
    }
    auto view = at::view_as_real(param.detach());
    if (entry.view.defined() && optimizer != nullptr) {  // the state moves to the new view
      auto& state = optimizer->state();
      const auto old = state.find(so::compat::state_key(entry.view));
      if (old != state.end()) {
        auto moved = std::move(old->second);
        state.erase(old);
        state[so::compat::state_key(view)] = std::move(moved);
      }
    }
    entry = {param, view};
    return view;
  }
  /// The view of a complex parameter seen before, or `param` itself (no view is made).
  at::Tensor find(const at::Tensor& param) const {
    if (!param.is_complex()) return param;
    const auto found = views_.find(param.unsafeGetTensorImpl());
    return found == views_.end() ? at::Tensor() : found->second.view;
  }
  /// Whether the library tensor `t` is one of the views.
  bool is_view(const at::Tensor& t) const {
    for (const auto& [impl, entry] : views_) {
      if (entry.view.is_same(t)) return true;
    }
    return false;
  }
  /// Gives each view its parameter's gradient as real pairs (or none), for one step.
  void attach_grads() {
    for (auto& [impl, entry] : views_) {
      const auto& grad = entry.param.grad();
      if (grad.defined() && grad.is_sparse()) {
        throw py::value_error("swd optimizers do not support sparse gradients");
      }
      entry.view.mutable_grad() =
          grad.defined() ? at::view_as_real(grad.resolve_conj()) : at::Tensor();
    }
  }
  void detach_grads() {
    for (auto& [impl, entry] : views_) entry.view.mutable_grad() = at::Tensor();
  }
  /// Forgets the parameters that are in no group (`live`: the library's tensors).
  void keep_only(const std::unordered_set<so::compat::StateKey>& live) {
    for (auto it = views_.begin(); it != views_.end();) {
      it = live.count(so::compat::state_key(it->second.view)) ? std::next(it) : views_.erase(it);
    }
  }
  bool empty() const { return views_.empty(); }

 private:
  struct View {
    at::Tensor param;  ///< held, so that its address is not reused while it is a key
    at::Tensor view;
  };
  std::unordered_map<const c10::TensorImpl*, View> views_;
};

/// Complex state for Python: each tensor of a real view's state as complex (shared memory).
Entry as_complex(Entry entry) {
  for (auto& [name, t] : std::get<2>(entry)) t = at::view_as_complex(t);
  return entry;
}
/// Complex state from Python, viewed as the real pairs the library keeps.
void as_real(std::map<std::string, at::Tensor>& tensors) {
  for (auto& [name, t] : tensors) {
    if (t.is_complex()) t = at::view_as_real(t.resolve_conj());
  }
}

class Handle {
 public:
  /// family: a name of so::kFamilies ("sgd", "adam", "adai"); groups: each group's parameters and options.
  Handle(const std::string& family, const std::vector<Group>& groups) {
    Construct construct = nullptr;
    try {  // the family's name becomes its class in one place (swd/optim/families.h)
      construct = so::visit_family(family, [this](auto tag) {
        return use_family<typename decltype(tag)::type>();
      });
    } catch (const std::invalid_argument& e) {
      throw py::value_error(e.what());
    }
    if (groups.empty()) throw py::value_error("optimizer got no parameter group");
    auto options = all_options(groups);
    std::vector<torch::optim::OptimizerParamGroup> param_groups;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      param_groups.emplace_back(stepped(groups[g].first), std::move(options[g]));
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
      auto params = stepped(groups[g].first);
      if (g == current.size()) {
        torch::optim::OptimizerParamGroup added(std::move(params), std::move(options[g]));
        optimizer_->add_param_group(added);
        continue;
      }
      if (!same_tensors(current[g].params(), params)) {
        current[g].params() = std::move(params);
        params_changed = true;
      }
      current[g].set_options(std::move(options[g]));
    }
    if (params_changed) drop_orphaned_state();
  }

  /// sync, then one step of the library's update.
  void step(const std::vector<Group>& groups) {
    sync(groups);
    last_numbers_.clear();  // until this step has run
    if (!views_.empty()) views_.attach_grads();
    try {
      py::gil_scoped_release no_gil;  // the step touches no Python object (a vbar reducer
      optimizer_->step();             // takes the lock back)
    } catch (...) {
      views_.detach_grads();
      throw;
    }
    views_.detach_grads();
    for (const auto& group : groups) last_numbers_.push_back(group.second);
  }

  /// Each group's decay rate d of the last step (theta *= 1 - d; OptimizerBase::decay_per_step)
  /// with the group's options as that step had them; None for L2, for a group added since, and
  /// before the first step.
  std::vector<std::optional<double>> decay_per_step() {
    auto& groups = optimizer_->param_groups();
    std::vector<std::optional<double>> rates(groups.size());
    for (std::size_t g = 0; g < groups.size() && g < last_numbers_.size(); ++g) {
      // The library reads the group's current options: lend it the step's for the call.
      auto now = groups[g].options().clone();
      groups[g].set_options(make_options_(last_numbers_[g], "parameter group " + std::to_string(g)));
      try {
        rates[g] = optimizer_->decay_per_step(g);
      } catch (...) {
        groups[g].set_options(std::move(now));
        throw;
      }
      groups[g].set_options(std::move(now));
    }
    return rates;
  }

  /// `reducer(totals)` sums the float64 tensor [sum of vhat, count] over the processes in
  /// place (OptimizerBase::set_vbar_reducer); None removes it.
  void set_vbar_reducer(const py::object& reducer) {
    if (reducer.is_none()) {
      optimizer_->set_vbar_reducer({});
      return;
    }
    auto held = std::make_shared<py::object>(reducer);
    optimizer_->set_vbar_reducer([held](torch::Tensor& totals) {
      py::gil_scoped_acquire gil;
      (*held)(totals);
    });
  }

  // -- One parameter's state, found by the parameter (no other state is touched) ------------

  /// The state of `param` (the optimizer's own tensors), or None where it has none.
  std::optional<Entry> param_state(const at::Tensor& param) const {
    const auto t = views_.find(param);
    if (!t.defined()) return std::nullopt;
    const auto& state = optimizer_->state();
    const auto found = state.find(so::compat::state_key(t));
    if (found == state.end()) return std::nullopt;
    auto entry = entry_of_(*found->second);
    return param.is_complex() ? as_complex(std::move(entry)) : entry;
  }
  bool has_state(const at::Tensor& param) const {
    const auto t = views_.find(param);
    return t.defined() && optimizer_->state().count(so::compat::state_key(t)) > 0;
  }
  /// Replaces the state of `param` (tensors copied); ValueError, and no change, where it does
  /// not fit.
  void set_param_state(const at::Tensor& param, Entry entry) {
    const auto t = views_.stepped(param, optimizer_.get());
    as_real(std::get<2>(entry));
    std::unique_ptr<torch::optim::OptimizerParamState> state;
    try {
      state = state_from_(entry, t);
    } catch (const std::runtime_error& e) {
      throw py::value_error(python_spelling(e.what()));
    }
    optimizer_->state()[so::compat::state_key(t)] = std::move(state);
  }
  /// Removes the state of `param` (its next step starts afresh); whether it had one.
  bool clear_param_state(const at::Tensor& param) {
    const auto t = views_.find(param);
    return t.defined() && optimizer_->state().erase(so::compat::state_key(t)) > 0;
  }
  void clear_state() { optimizer_->state().clear(); }

  /// (each group's options as numbers, [(group, index, integers, reals, tensors)]); the
  /// tensors are the optimizer's own, not copies (complex for complex parameters).
  std::pair<std::vector<Numbers>, std::vector<ParamRecord>> export_state() const {
    const so::StateRecord record = optimizer_->export_state();
    std::vector<ParamRecord> params;
    for (const auto& p : record.params) {
      const bool complex =
          !views_.empty() && views_.is_view(optimizer_->param_groups()[p.group].params()[p.index]);
      auto tensors = p.tensors;
      if (complex) {
        for (auto& [name, t] : tensors) t = at::view_as_complex(t);
      }
      params.emplace_back(p.group, p.index, p.integers, p.reals, std::move(tensors));
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
      as_real(p.tensors);
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
  template <typename Optimizer>
  Construct use_family() {
    make_options_ = &make_options<Optimizer>;
    entry_of_ = &entry_of<Optimizer>;
    state_from_ = &state_from<Optimizer>;
    return &make_optimizer<Optimizer>;
  }

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

  /// The tensors the library steps for a group's parameters (real views for complex ones).
  std::vector<at::Tensor> stepped(const std::vector<at::Tensor>& params) {
    std::vector<at::Tensor> out;
    out.reserve(params.size());
    for (const auto& p : params) {
      out.push_back(views_.stepped(p, optimizer_.get()));
    }
    return out;
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
    views_.keep_only(live);
  }

  std::unique_ptr<so::OptimizerBase> optimizer_;
  OptionsMaker make_options_ = nullptr;
  EntryOf entry_of_ = nullptr;
  StateFrom state_from_ = nullptr;
  RealViews views_;
  std::vector<Numbers> last_numbers_;  ///< each group's options at the last step
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
  m.def("family_names", &so::family_names, "The optimizer families' names (swd/optim/families.h).");
  m.def(
      "state_fields",
      [](const std::string& family) {
        try {
          return so::visit_family(family, [](auto tag) {
            return state_fields<typename decltype(tag)::type>();
          });
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("family"),
      "[(name, kind)] of a family's per-parameter state; kind: integer, real or tensor.");
  py::class_<Handle>(m, "Optimizer")
      .def(py::init<const std::string&, const std::vector<Group>&>(), py::arg("family"),
           py::arg("groups"))
      .def("sync", &Handle::sync, py::arg("groups"))
      .def("step", &Handle::step, py::arg("groups"))
      .def("export_state", &Handle::export_state)
      .def("import_state", &Handle::import_state, py::arg("groups"), py::arg("params"))
      .def("decay_per_step", &Handle::decay_per_step)
      .def("set_vbar_reducer", &Handle::set_vbar_reducer, py::arg("reducer"))
      .def("param_state", &Handle::param_state, py::arg("param"))
      .def("has_state", &Handle::has_state, py::arg("param"))
      .def("set_param_state", &Handle::set_param_state, py::arg("param"), py::arg("entry"))
      .def("clear_param_state", &Handle::clear_param_state, py::arg("param"))
      .def("clear_state", &Handle::clear_state)
      .def_property_readonly("vbar", &Handle::vbar)
      .def_property_readonly("fused_parameters", &Handle::fused_parameters);
}
