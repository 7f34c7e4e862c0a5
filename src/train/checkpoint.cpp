#include "swd/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/ivalue.h>
#include <torch/serialize/archive.h>

#include <filesystem>

#include "swd/train/files.h"

namespace swd {
namespace train {

namespace {
constexpr const char* kFormat = "swd-checkpoint-2";

// The integer and real fields of position and totals, in a fixed order.
std::vector<int64_t> integers_of(const CheckpointInfo& i) {
  return {i.position.epoch, i.position.batches_done, i.position.steps_done, i.partial.wrong,
          i.partial.seen,   i.partial.steps,         i.partial.skipped};
}
std::vector<double> reals_of(const CheckpointInfo& i) {
  return {i.partial.loss_sum, i.partial.grad_norm_sum, i.partial.grad_norm_sq_sum,
          i.partial.seconds};
}
}  // namespace

void save_checkpoint(const std::string& path, const torch::nn::Module& model,
                     const torch::optim::Optimizer& optimizer, const CheckpointInfo& info) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("integers", c10::IValue(integers_of(info)));
  archive.write("reals", c10::IValue(reals_of(info)));
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
  try {
    archive.save_to(tmp);
  } catch (const std::exception& e) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    std::string what = e.what();
    throw std::runtime_error("cannot write checkpoint " + path + ": " +
                             what.substr(0, what.find('\n')));
  }
  commit_file(tmp, path);
}

CheckpointInfo load_checkpoint(const std::string& path, torch::nn::Module& model,
                               torch::optim::Optimizer& optimizer) {
  if (!std::filesystem::exists(path)) throw std::runtime_error("no checkpoint at " + path);
  auto fail = [&](const std::string& why) -> std::runtime_error {
    return std::runtime_error("cannot resume from checkpoint " + path + ": " + why);
  };
  CheckpointInfo info;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    c10::IValue format, integers, reals, metrics, config;
    archive.read("format", format);
    if (!format.isString() || format.toStringRef() != kFormat) {
      throw fail("not an swd checkpoint of this version (format " +
                 (format.isString() ? format.toStringRef() : std::string("?")) + ")");
    }
    archive.read("integers", integers);
    archive.read("reals", reals);
    archive.read("metrics_csv", metrics);
    archive.read("config_json", config);
    const auto ints = integers.toIntVector();
    const auto reals_vec = reals.toDoubleVector();
    if (ints.size() != 7 || reals_vec.size() != 4) throw fail("its position record is malformed");
    info.position = {ints[0], ints[1], ints[2]};
    info.partial.wrong = ints[3];
    info.partial.seen = ints[4];
    info.partial.steps = ints[5];
    info.partial.skipped = ints[6];
    info.partial.loss_sum = reals_vec[0];
    info.partial.grad_norm_sum = reals_vec[1];
    info.partial.grad_norm_sq_sum = reals_vec[2];
    info.partial.seconds = reals_vec[3];
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
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    if (what.rfind("cannot resume", 0) == 0) throw;
    throw fail(what.substr(0, what.find('\n')));  // LibTorch appends a stack trace
  } catch (const std::exception& e) {
    const std::string what = e.what();
    throw fail(what.substr(0, what.find('\n')));
  }
  const auto& p = info.position;
  if (p.epoch < 0 || p.batches_done < 0 || p.steps_done < 0 ||
      static_cast<size_t>(p.epoch) != info.metrics.size()) {
    throw fail("it is inconsistent (its position and its metrics disagree)");
  }
  return info;
}

}  // namespace train
}  // namespace swd
