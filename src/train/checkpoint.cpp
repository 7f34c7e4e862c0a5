#include "swd/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/ivalue.h>
#include <torch/serialize/archive.h>

#include <filesystem>

#include "swd/train/files.h"

namespace swd {
namespace train {

namespace {
constexpr const char* kFormat = "swd-checkpoint-1";
}

void save_checkpoint(const std::string& path, const torch::nn::Module& model,
                     const torch::optim::Optimizer& optimizer, const CheckpointInfo& info) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("epochs_done", c10::IValue(info.epochs_done));
  archive.write("metrics_csv", c10::IValue(metrics_csv(info.metrics)));
  archive.write("config_json", c10::IValue(info.config_json));
  archive.write("rng_state", at::detail::getDefaultCPUGenerator().get_state());
  torch::serialize::OutputArchive model_archive(archive.compilation_unit());
  model.save(model_archive);
  archive.write("model", model_archive);
  torch::serialize::OutputArchive optimizer_archive(archive.compilation_unit());
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  const std::string tmp = path + ".tmp";
  archive.save_to(tmp);
  commit_file(tmp, path);
}

CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model,
                               torch::optim::Optimizer& optimizer) {
  if (!std::filesystem::exists(path)) throw std::runtime_error("no checkpoint at " + path);
  CheckpointInfo info;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    c10::IValue format, epochs, metrics, config;
    archive.read("format", format);
    if (!format.isString() || format.toStringRef() != kFormat) {
      throw std::runtime_error("not an swd checkpoint (format " +
                               (format.isString() ? format.toStringRef() : std::string("?")) +
                               ")");
    }
    archive.read("epochs_done", epochs);
    archive.read("metrics_csv", metrics);
    archive.read("config_json", config);
    info.epochs_done = epochs.toInt();
    info.metrics = parse_metrics_csv(metrics.toStringRef());
    info.config_json = config.toStringRef();
    torch::Tensor rng;
    archive.read("rng_state", rng);
    torch::serialize::InputArchive model_archive, optimizer_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    auto generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(rng);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));  // LibTorch appends a stack trace
    throw std::runtime_error("cannot resume from checkpoint " + path + ": " + what);
  }
  if (info.epochs_done < 0 || static_cast<size_t>(info.epochs_done) != info.metrics.size()) {
    throw std::runtime_error("cannot resume from checkpoint " + path +
                             ": it is inconsistent (epochs done and metrics rows differ)");
  }
  return info;
}

}  // namespace train
}  // namespace swd
