#include "swd/train/run_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "swd/optim/optimizer_base.h"
#include "swd/provenance.h"
#include "swd/util/io.h"

namespace swd {
namespace train {

namespace {
double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

/// A steps.jsonl line's numbers (run_log.h), after the optimizer step.
StepRecord step_record(const optim::OptimizerBase& optimizer, int64_t step, int64_t epoch, double loss,
                       double grad_norm) {
  StepRecord r;
  r.step = step;
  r.epoch = epoch;
  r.lr = optimizer.group_hyper(0).lr;
  r.weight_decay = optimizer.group_hyper(0).weight_decay;
  r.loss = loss;
  r.grad_norm = grad_norm;
  if (optimizer.vbar().defined()) r.sqrt_vbar = std::sqrt(optimizer.vbar().item<double>());
  r.decay_per_step = optimizer.decay_per_step(0);
  return r;
}

std::string step_json(const StepRecord& r) {
  nlohmann::ordered_json line = {{"step", r.step}, {"epoch", r.epoch}, {"lr", r.lr},
                                 {"weight_decay", r.weight_decay}, {"loss", r.loss},
                                 {"grad_norm", r.grad_norm}};
  line["sqrt_vbar"] = r.sqrt_vbar ? nlohmann::ordered_json(*r.sqrt_vbar) : nullptr;
  line["decay_per_step"] = r.decay_per_step ? nlohmann::ordered_json(*r.decay_per_step) : nullptr;
  line["images_per_s"] = r.images_per_s;
  line["time"] = r.time;
  if (!r.dynamics.empty()) line["dynamics"] = nlohmann::ordered_json::parse(r.dynamics);
  return line.dump();  // nlohmann writes doubles in shortest round-trip form
}

StepLog::StepLog(const std::string& path, int64_t every, int64_t steps_done, bool resume)
    : every_(every), path_(path) {
  if (every <= 0) return;
  std::string kept;
  if (resume && std::filesystem::exists(path)) {
    std::istringstream in(util::read_file(path));
    std::string line;
    while (std::getline(in, line)) {
      const auto doc = nlohmann::json::parse(line, nullptr, false);
      // a line cut short by a kill, or a step that will be run again, is dropped
      if (doc.is_object() && doc.contains("step") && doc["step"].is_number_integer() &&
          doc["step"].get<int64_t>() <= steps_done) {
        kept += line + "\n";
      }
    }
  }
  util::write_file_atomically(path, kept);
  file_ = util::open_for_append(path);
  last_ = steady_seconds();
}

StepLog::~StepLog() {
  if (file_ != nullptr) std::fclose(file_);
}

std::string StepLog::write(StepRecord r) {
  const double now = steady_seconds();
  r.images_per_s = now > last_ ? static_cast<double>(samples_) / (now - last_) : 0.0;
  r.time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  samples_ = 0;
  last_ = now;
  const std::string line = step_json(r) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    throw std::runtime_error("cannot write " + path_);
  }
  char text[200];
  std::snprintf(text, sizeof text, "step %lld (epoch %lld)  loss %.4f  |grad| %.3g  lr %.3g  %.0f img/s",
                static_cast<long long>(r.step), static_cast<long long>(r.epoch), r.loss,
                r.grad_norm, r.lr, r.images_per_s);
  return text;
}

std::FILE* open_train_log(const std::string& dir, bool resume) {
  const std::string path = dir + "/train.log";
  struct stat out {}, log {};
  if (::fstat(STDOUT_FILENO, &out) == 0 && ::lstat(path.c_str(), &log) == 0 &&
      out.st_dev == log.st_dev && out.st_ino == log.st_ino) {
    return nullptr;  // a sweep already sends this run's output there
  }
  std::FILE* file = util::open_for_append(path);  // never through a link
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::fprintf(file, "== swd train: %s at %s (%s)\n", resume ? "resume" : "start", stamp,
               version_line().c_str());
  std::fflush(file);
  return file;
}

}  // namespace train
}  // namespace swd
