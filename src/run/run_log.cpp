#include "swd/run/run_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "swd/optim/optimizer_base.h"
#include "swd/provenance.h"
#include "swd/util/io.h"

namespace swd {
namespace run {

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

uint32_t crc32c(const void* data, std::size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

namespace {
// ---- the protobuf wire format, as much as tensorflow.Event needs ----------------------------
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
template <typename T>
void little_endian(std::string& out, T v) {  // fixed32 / fixed64 fields
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));  // the host is little-endian (x86-64, aarch64)
  out.append(reinterpret_cast<const char*>(bytes), sizeof(T));
}
/// A length-delimited field (wire type 2): strings and messages.
void bytes_field(std::string& out, int field, const std::string& bytes) {
  varint(out, static_cast<uint64_t>(field) << 3 | 2);
  varint(out, bytes.size());
  out += bytes;
}
/// Event.wall_time (1, double) and Event.step (2, int64).
std::string event_head(int64_t step) {
  std::string e;
  varint(e, 1 << 3 | 1);
  little_endian(e, std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  varint(e, 2 << 3 | 0);
  varint(e, static_cast<uint64_t>(step));
  return e;
}
uint32_t masked_crc(const std::string& bytes) {
  const uint32_t crc = crc32c(bytes.data(), bytes.size());
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
}  // namespace

EventFile::EventFile(const std::string& dir) {
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  path_ = dir + "/events.out.tfevents." + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count()) +
          "." + host + ".swd";
  file_ = std::fopen(path_.c_str(), "wbx");  // a new file: never over another start's
  for (int n = 1; file_ == nullptr && n < 100; ++n) {  // two starts within a second
    file_ = std::fopen((path_ + std::to_string(n)).c_str(), "wbx");
    if (file_ != nullptr) path_ += std::to_string(n);
  }
  if (file_ == nullptr) throw std::runtime_error("cannot create " + path_);
  std::string event = event_head(0);
  bytes_field(event, 3, "brain.Event:2");  // Event.file_version
  record(event);
}

EventFile::~EventFile() {
  if (file_ != nullptr) std::fclose(file_);
}

void EventFile::scalars(int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  std::string summary;
  for (const auto& [tag, value] : values) {
    std::string v;
    bytes_field(v, 1, tag);                          // Summary.Value.tag
    varint(v, 2 << 3 | 5);                           // Summary.Value.simple_value (float)
    little_endian(v, static_cast<float>(value));
    bytes_field(summary, 1, v);                      // Summary.value
  }
  std::string event = event_head(step);
  bytes_field(event, 5, summary);                    // Event.summary
  record(event);
}

void EventFile::record(const std::string& event) {
  std::string header;
  little_endian(header, static_cast<uint64_t>(event.size()));
  std::string bytes = header;
  little_endian(bytes, masked_crc(header));
  bytes += event;
  little_endian(bytes, masked_crc(event));
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size() || std::fflush(file_) != 0) {
    throw std::runtime_error("cannot write " + path_);
  }
}

std::vector<std::pair<std::string, double>> step_scalars(const StepRecord& r) {
  std::vector<std::pair<std::string, double>> v = {
      {"step/loss", r.loss}, {"step/grad_norm", r.grad_norm}, {"step/lr", r.lr},
      {"step/weight_decay", r.weight_decay}};
  if (r.sqrt_vbar) v.emplace_back("step/sqrt_vbar", *r.sqrt_vbar);
  if (r.decay_per_step) v.emplace_back("step/decay_per_step", *r.decay_per_step);
  return v;
}

std::vector<std::pair<std::string, double>> epoch_scalars(const EpochMetrics& m) {
  std::vector<std::pair<std::string, double>> all = {
      {"epoch/epoch", static_cast<double>(m.epoch)}, {"epoch/train_loss", m.train_loss},
      {"epoch/train_error", m.train_error}, {"epoch/test_loss", m.test_loss},
      {"epoch/test_error", m.test_error}, {"epoch/val_loss", m.val_loss},
      {"epoch/val_error", m.val_error}, {"epoch/lr", m.lr}, {"epoch/weight_decay", m.weight_decay},
      {"epoch/grad_norm", m.grad_norm}, {"epoch/weight_norm", m.weight_norm},
      {"epoch/angular_update", m.angular_update}, {"epoch/effective_lr", m.effective_lr},
      {"epoch/decay_budget", m.decay_budget}};
  if (m.sqrt_vbar) all.emplace_back("epoch/sqrt_vbar", *m.sqrt_vbar);
  std::vector<std::pair<std::string, double>> v;
  for (const auto& item : all) {
    if (!std::isnan(item.second)) v.push_back(item);
  }
  return v;
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

}  // namespace run
}  // namespace swd
