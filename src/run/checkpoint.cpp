// checkpoint.pt in swd's own container (tensor_file.h): a JSON document for the position,
// totals, metrics, configuration and optimizer options, and named tensors for the model, the
// optimizer state and the RNG. LibTorch's archive loader is not used for it: it parses
// TorchScript and can crash on a hostile file, which a checkpoint loader must never do.
#include "swd/run/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/module.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "swd/errors.h"
#include "swd/util/io.h"
#include "tensor_file.h"

namespace swd {
namespace run {

namespace {

using Json = nlohmann::json;
constexpr const char* kFormat = "swd-checkpoint";
constexpr int kVersion = 2;

std::string optimizer_key(const optim::StateRecord::Param& p, const std::string& field) {
  return "optimizer/" + std::to_string(p.group) + "/" + std::to_string(p.index) + "/" + field;
}

Json optimizer_json(const optim::StateRecord& record, TensorFile& file) {
  Json groups = Json::array();
  for (const auto& g : record.groups) groups.push_back(Json(g));
  Json params = Json::array();
  for (const auto& p : record.params) {
    Json tensors = Json::array();
    for (const auto& [field, tensor] : p.tensors) {
      file.tensors[optimizer_key(p, field)] = tensor;
      tensors.push_back(field);
    }
    params.push_back({{"group", p.group}, {"index", p.index}, {"integers", p.integers},
                      {"reals", p.reals}, {"tensors", tensors}});
  }
  return {{"groups", groups}, {"params", params}};
}

optim::StateRecord optimizer_record(const Json& doc, const TensorFile& file) {
  optim::StateRecord record;
  for (const auto& g : doc.at("groups")) {
    record.groups.push_back(g.get<std::map<std::string, double>>());
  }
  for (const auto& p : doc.at("params")) {
    optim::StateRecord::Param param;
    param.group = p.at("group").get<size_t>();
    param.index = p.at("index").get<size_t>();
    param.integers = p.at("integers").get<std::map<std::string, int64_t>>();
    param.reals = p.at("reals").get<std::map<std::string, double>>();
    for (const auto& field : p.at("tensors")) {
      const auto name = field.get<std::string>();
      const auto found = file.tensors.find(optimizer_key(param, name));
      if (found == file.tensors.end()) {
        throw std::runtime_error("its optimizer state lacks tensor " + optimizer_key(param, name));
      }
      param.tensors[name] = found->second;
    }
    record.params.push_back(std::move(param));
  }
  return record;
}

/// Every parameter and buffer of `model`, by name, as "model/<name>".
std::map<std::string, torch::Tensor> model_tensors(const torch::nn::Module& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : model.named_parameters()) out["model/" + p.key()] = p.value();
  for (const auto& b : model.named_buffers()) out["model/" + b.key()] = b.value();
  return out;
}

/// An optional number as JSON (null when absent), and back (absent when null or missing:
/// checkpoints written before the key existed).
Json optional_json(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }
std::optional<double> optional_from(const Json& doc, const char* key) {
  if (doc.contains(key) && doc.at(key).is_number()) return doc.at(key).get<double>();
  return std::nullopt;
}

/// Refuses restored totals no run can reach (a forged record with a valid checksum): every
/// count and sum of the interrupted epoch against the others and the batch size, every
/// finished epoch's number.
void check_ranges(const CheckpointInfo& info) {
  const auto& p = info.position;
  const auto& t = info.partial;
  auto require = [](bool ok, const std::string& name, const std::string& value, const std::string& expected) {
    if (!ok) throw std::runtime_error("its " + name + " is " + value + " (expected " + expected + ")");
  };
  const auto text = [](auto v) { return nlohmann::json(v).dump(); };
  // (p.epoch, p.batches_done and p.steps_done are >= 0 here: no sum below overflows.)
  require(p.steps_done - p.batches_done >= p.epoch, "position.steps_done", text(p.steps_done),
          "at least one step per finished epoch plus position.batches_done");
  // Each batch of the epoch so far is a step taken or skipped.
  require(t.steps >= 0 && t.steps <= p.batches_done, "partial.steps", text(t.steps),
          "0 to position.batches_done = " + text(p.batches_done));
  require(t.skipped == p.batches_done - t.steps, "partial.skipped", text(t.skipped),
          "position.batches_done - partial.steps = " + text(p.batches_done - t.steps));
  const Json config = Json::parse(info.config_json, nullptr, false);
  const int64_t batch = config.is_object() && config.contains("batch-size") &&
                                config["batch-size"].is_number_integer() &&
                                config["batch-size"].get<int64_t>() > 0
                            ? config["batch-size"].get<int64_t>()
                            : std::numeric_limits<int64_t>::max();
  // Every step taken trains on 1 to batch-size samples.
  require(t.seen >= t.steps && t.seen / batch + (t.seen % batch != 0) <= t.steps, "partial.seen",
          text(t.seen), "between partial.steps and partial.steps x batch-size");
  require(t.wrong >= 0 && t.wrong <= t.seen, "partial.wrong", text(t.wrong), "0 to partial.seen");
  // Sums of finite losses and norms (>= 0; a sum of squares may overflow to infinity).
  for (const auto& [name, v] : {std::pair<const char*, double>{"loss_sum", t.loss_sum},
                                {"grad_norm_sum", t.grad_norm_sum},
                                {"grad_norm_sq_sum", t.grad_norm_sq_sum}}) {
    require(v >= 0, std::string("partial.") + name, text(v), ">= 0");
  }
  require(std::isfinite(t.seconds) && t.seconds >= 0, "partial.seconds", text(t.seconds), "finite and >= 0");
  for (size_t i = 0; i < info.metrics.size(); ++i) {
    require(info.metrics[i].epoch == static_cast<int64_t>(i) + 1, "metrics row " + std::to_string(i + 1),
            "for epoch " + text(info.metrics[i].epoch), "the epochs 1, 2, ... in order");
  }
}

/// Everything but the tensors, from the checkpoint's JSON record.
CheckpointInfo info_of(const std::string& json) {
  CheckpointInfo info;
  try {
    const Json doc = Json::parse(json);
    if (doc.at("format") != kFormat || doc.at("version") != kVersion) {
      throw std::runtime_error("it is not an swd checkpoint of version " + std::to_string(kVersion));
    }
    const auto& p = doc.at("position");
    info.position = {p.at("epoch").get<int64_t>(), p.at("batches_done").get<int64_t>(),
                     p.at("steps_done").get<int64_t>()};
    const auto& t = doc.at("partial");
    info.partial = {t.at("loss_sum").get<double>(), t.at("grad_norm_sum").get<double>(),
                    t.at("grad_norm_sq_sum").get<double>(), t.at("seconds").get<double>(),
                    t.at("wrong").get<int64_t>(), t.at("seen").get<int64_t>(),
                    t.at("steps").get<int64_t>(), t.at("skipped").get<int64_t>(),
                    optional_from(t, "sqrt_vbar"), optional_from(t, "decay_per_step")};
    info.metrics = parse_metrics_csv(doc.at("metrics_csv").get<std::string>());
    info.config_json = doc.at("config_json").get<std::string>();
    if (doc.contains("dynamics")) {  // checkpoints made before the dynamics have none
      info.dynamics_state = doc.at("dynamics").at("state").get<std::string>();
      info.dynamics_csv = doc.at("dynamics").at("csv").get<std::string>();
    }
  } catch (const Json::exception& e) {
    throw std::runtime_error(std::string("its record is malformed (") + e.what() + ")");
  }
  const auto& pos = info.position;
  if (pos.epoch < 0 || pos.batches_done < 0 || pos.steps_done < 0 ||
      static_cast<size_t>(pos.epoch) != info.metrics.size()) {
    throw std::runtime_error("it is inconsistent (its position and its metrics disagree)");
  }
  check_ranges(info);
  return info;
}

std::runtime_error cannot_resume(const std::string& path, const std::exception& e) {
  return std::runtime_error("cannot resume from checkpoint " + path + ": " + message_of(e));
}

}  // namespace

void save_checkpoint(const std::string& path, const torch::nn::Module& model,
                     const optim::OptimizerBase& optimizer, const CheckpointInfo& info) {
  TensorFile file;
  const auto& p = info.position;
  const auto& t = info.partial;
  Json doc = {
      {"format", kFormat},
      {"version", kVersion},
      {"position", {{"epoch", p.epoch}, {"batches_done", p.batches_done}, {"steps_done", p.steps_done}}},
      {"partial", {{"loss_sum", t.loss_sum}, {"grad_norm_sum", t.grad_norm_sum},
                   {"grad_norm_sq_sum", t.grad_norm_sq_sum}, {"seconds", t.seconds},
                   {"wrong", t.wrong}, {"seen", t.seen}, {"steps", t.steps}, {"skipped", t.skipped},
                   {"sqrt_vbar", optional_json(t.sqrt_vbar)},
                   {"decay_per_step", optional_json(t.decay_per_step)}}},
      {"metrics_csv", metrics_csv(info.metrics)},
      {"config_json", info.config_json},
  };
  if (!info.dynamics_state.empty()) {
    doc["dynamics"] = {{"state", info.dynamics_state}, {"csv", info.dynamics_csv}};
  }
  doc["optimizer"] = optimizer_json(optimizer.export_state(), file);
  for (const auto& [name, tensor] : model_tensors(model)) file.tensors[name] = tensor;
  file.tensors["rng"] = at::detail::getDefaultCPUGenerator().get_state();
  file.json = doc.dump();
  util::write_file_atomically(path, encode_tensor_file(file));
}

CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model,
                               optim::OptimizerBase& optimizer) {
  if (!std::filesystem::exists(path)) throw std::runtime_error("no checkpoint at " + path);
  CheckpointInfo info;
  try {
    const TensorFile file = read_tensor_file(path);
    info = info_of(file.json);
    const Json doc = Json::parse(file.json);
    // The model: every parameter and buffer by name, with the same shape and dtype.
    const auto wanted = model_tensors(model);
    size_t model_entries = 0;
    for (const auto& [name, tensor] : file.tensors) model_entries += name.rfind("model/", 0) == 0;
    if (model_entries != wanted.size()) {
      throw std::runtime_error("it holds " + std::to_string(model_entries) +
                               " model tensors, this model has " + std::to_string(wanted.size()) +
                               " (a checkpoint of another model?)");
    }
    for (const auto& [name, target] : wanted) {
      const auto found = file.tensors.find(name);
      if (found == file.tensors.end() || !found->second.sizes().equals(target.sizes()) ||
          found->second.scalar_type() != target.scalar_type()) {
        throw std::runtime_error("its " + name + " does not fit this model");
      }
    }
    optim::StateRecord record;
    try {
      record = optimizer_record(doc.at("optimizer"), file);
    } catch (const Json::exception& e) {
      throw std::runtime_error(std::string("its optimizer record is malformed (") + e.what() + ")");
    }
    const auto rng = file.tensors.find("rng");
    auto generator = at::detail::getDefaultCPUGenerator();
    if (rng == file.tensors.end() || rng->second.scalar_type() != at::kByte ||
        !rng->second.sizes().equals(generator.get_state().sizes())) {
      throw std::runtime_error("its RNG state is missing or malformed");
    }
    // Everything checked: now change the model, optimizer and generator.
    optimizer.import_state(record);  // checks the record against the parameters first
    {
      torch::NoGradGuard no_grad;
      for (const auto& [name, target] : wanted) target.copy_(file.tensors.at(name));
    }
    generator.set_state(rng->second);
  } catch (const std::exception& e) {
    throw cannot_resume(path, e);
  }
  return info;
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  try {
    return info_of(read_tensor_file(path).json);
  } catch (const std::exception& e) {
    throw cannot_resume(path, e);
  }
}

}  // namespace run
}  // namespace swd
