// The table of TrainConfig keys: parsing from text (flags, TOML, JSON) and writing JSON.
#include "swd/config/config.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <type_traits>

#include "swd/config/optimizer_names.h"
#include "swd/data/dataset.h"
#include "swd/models/models.h"
#include "swd/schedule/scaling.h"
#include "swd/schedule/schedule.h"
#include "swd/util/number.h"
#include "swd/util/process.h"
#include "swd/util/suggest.h"
#include "swd/util/words.h"
#include "config_text.h"

namespace swd {
namespace config {

using detail::Json;
using detail::json_to_text;

namespace {

[[noreturn]] void bad_value(const std::string& key, const std::string& value,
                            const std::string& expected) {
  throw ConfigError("invalid value '" + detail::cut(value) + "' for " + key + " (expected " +
                    expected + ")");
}

// ---- text -> value, one overload per member type ---------------------------------------
void parse(const std::string&, const std::string& text, std::string& out) { out = text; }

void parse(const std::string& key, const std::string& text, double& out) {
  // strtod, not std::stod: stod refuses every ERANGE, subnormal results (1e-320) included,
  // which are finite doubles like any other.
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  const bool whole = !text.empty() && end == begin + text.size();
  if (whole && std::isfinite(v) && !(errno == ERANGE && v == 0)) {
    out = v;
    return;
  }
  if (whole && errno == ERANGE) {  // beyond what a double holds: say which end
    bad_value(key, text, v == 0 ? "0 or a magnitude of at least 4.9e-324, the smallest double"
                                : "a finite number, at most 1.8e308 in magnitude");
  }
  bad_value(key, text, "a finite number");
}

void parse(const std::string& key, const std::string& text, int64_t& out) {
  try {
    size_t used = 0;
    out = std::stoll(text, &used);
    if (used == text.size()) return;
  } catch (const std::exception&) {
  }
  bad_value(key, text, "an integer");
}

void parse(const std::string& key, const std::string& text, uint64_t& out) {
  // std::stoull accepts "-1" (as 2^64 - 1): only digits are taken.
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    try {
      out = std::stoull(text);
      return;
    } catch (const std::exception&) {
    }
  }
  bad_value(key, text, "an integer 0..18446744073709551615");
}

void parse(const std::string& key, const std::string& text, bool& out) {
  if (text == "true" || text == "1") {
    out = true;
  } else if (text == "false" || text == "0") {
    out = false;
  } else {
    bad_value(key, text, "true or false");
  }
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) parts.push_back(part);
  return parts;
}

void parse(const std::string& key, const std::string& text, std::vector<double>& out) {
  out.clear();
  if (text.empty()) return;
  for (const auto& part : split(text)) {
    double v = 0;
    parse(key, part, v);
    out.push_back(v);
  }
}

void parse(const std::string& key, const std::string& text, std::tuple<double, double>& out) {
  const auto parts = split(text);
  if (parts.size() != 2) bad_value(key, text, "two numbers B1,B2");
  parse(key, parts[0], std::get<0>(out));
  parse(key, parts[1], std::get<1>(out));
}

template <typename T>
void parse(const std::string& key, const std::string& text, std::optional<T>& out) {
  if (text == "null" || text == "default") {
    out.reset();
    return;
  }
  T v{};
  parse(key, text, v);
  out = v;
}

// ---- value -> JSON -----------------------------------------------------------------------
template <typename T>
Json to_json(const T& v) {
  return Json(v);
}
Json to_json(const std::tuple<double, double>& v) { return Json::array({std::get<0>(v), std::get<1>(v)}); }
template <typename T>
Json to_json(const std::optional<T>& v) {
  return v ? to_json(*v) : Json(nullptr);
}

// ---- the table ---------------------------------------------------------------------------
/// The value type as --help shows it.
template <typename T>
const char* type_name(const T*) {
  if constexpr (std::is_same_v<T, double>) return "NUMBER";
  else if constexpr (std::is_same_v<T, std::string>) return "TEXT";
  else if constexpr (std::is_same_v<T, bool>) return "";
  else if constexpr (std::is_same_v<T, std::vector<double>>) return "N1,N2,...";
  else if constexpr (std::is_same_v<T, std::tuple<double, double>>) return "B1,B2";
  else return "INT";
}
template <typename T>
const char* type_name(const std::optional<T>*) {
  return type_name(static_cast<const T*>(nullptr));
}

struct Entry {
  std::string key;
  std::string help;
  std::string type;
  bool flag = false;
  bool launch = false;  ///< a launch setting: not in config.json
  bool list = false;    ///< takes a list (milestones, betas)
  bool recorded = true;  ///< false: applied when the run is resolved, not in config.json
  std::function<void(TrainConfig&, const std::string&)> set;
  std::function<Json(const TrainConfig&)> get;
};

template <typename T>
Entry entry(const char* key, const std::string& help, T TrainConfig::*member) {
  Entry e;
  e.key = key;
  e.help = help;
  e.type = type_name(static_cast<const T*>(nullptr));
  e.flag = std::is_same_v<T, bool> || std::is_same_v<T, std::optional<bool>>;
  e.list = std::is_same_v<T, std::vector<double>> ||
           std::is_same_v<T, std::optional<std::tuple<double, double>>>;
  e.set = [key = std::string(key), member](TrainConfig& c, const std::string& text) {
    parse(key, text, c.*member);
  };
  e.get = [member](const TrainConfig& c) { return to_json(c.*member); };
  return e;
}

/// A setting that is a word (settings.h, schedule.h, scaling.h): parsed into its type once,
/// here, with `parse`; written back as its word; a word outside `names` is refused naming the
/// choices.
template <typename E>
struct WordsOf {
  E (*parse)(const std::string&);
  std::string (*word)(E);
  const std::vector<std::string>& (*names)();
};

template <typename E>
Entry word_entry(const char* key, const std::string& help, E TrainConfig::*member, WordsOf<E> words) {
  Entry e;
  e.key = key;
  e.help = help;
  e.type = "TEXT";
  e.set = [key = std::string(key), member, words](TrainConfig& c, const std::string& text) {
    try {
      c.*member = words.parse(text);
    } catch (const std::invalid_argument&) {
      bad_value(key, text, "one of " + util::join_words(words.names()));
    }
  };
  e.get = [member, words](const TrainConfig& c) { return Json(words.word(c.*member)); };
  return e;
}

const WordsOf<schedule::ScheduleKind> kScheduleWords{
    &schedule::schedule_kind_from_string, &schedule::to_string, &schedule::schedule_kinds};
const WordsOf<schedule::ScaleRule> kScaleRuleWords{
    &schedule::scale_rule_from_string, &schedule::to_string, &schedule::scale_rule_names};
const WordsOf<ProgressMode> kProgressWords{&progress_mode_from_string, &to_string, &progress_mode_names};
const WordsOf<Precision> kPrecisionWords{&precision_from_string, &to_string, &precision_names};
const WordsOf<OnNonFinite> kOnNonFiniteWords{&on_nonfinite_from_string, &to_string, &on_nonfinite_names};

template <typename T>
Entry launch_entry(const char* key, const char* help, T TrainConfig::*member) {
  Entry e = entry(key, help, member);
  e.launch = true;
  return e;
}

/// A setting that the resolution applies (weight-decay-over-lr): config.json records its
/// effect, not the setting.
template <typename T>
Entry applied_entry(const char* key, const std::string& help, T TrainConfig::*member) {
  Entry e = entry(key, help, member);
  e.recorded = false;
  return e;
}

void require_choice(const std::string& key, const std::string& value,
                    const std::vector<std::string>& choices) {
  for (const auto& c : choices) {
    if (c == value) return;
  }
  bad_value(key, value, "one of " + util::join_words(choices));
}

/// At most 4 x the cores: more threads than that only slow a run down (issue: 1000 threads
/// made a 1 s run take 56 s).
int64_t max_threads() {
  return 4 * static_cast<int64_t>(util::available_cores());
}

/// Range and choice checks after parsing; each names the key and the value as given (`text`).
void check(const std::string& key, const TrainConfig& c, const std::string& text) {
  auto fail = [&](const std::string& expected) { bad_value(key, text, expected); };
  auto positive = [&](int64_t v) {
    if (v <= 0) fail("a positive integer");
  };
  auto in_range = [&](int64_t v, int64_t lowest, int64_t limit, const std::string& what) {
    if (v < lowest || v > limit) fail(std::to_string(lowest) + ".." + std::to_string(limit) + what);
  };
  auto non_negative = [&](double v) {
    if (!(v >= 0)) fail("a number >= 0");
  };
  const std::string cores = "at most 4 x the " + std::to_string(max_threads() / 4) + " cores";
  if (key == "dataset") require_choice(key, c.dataset, data::dataset_names());
  if (key == "model") require_choice(key, c.model, models::model_names());
  if (key == "optimizer") require_choice(key, c.optimizer, optimizer_names());
  if (key == "device") check_device_spec(c.device);
  if (key == "checkpoint-every" && c.checkpoint_every < 0) fail("0 (epoch ends only) or more");
  if (key == "base-batch-size") positive(c.base_batch_size);
  if (key == "epochs") positive(c.epochs);
  if (key == "batch-size") positive(c.batch_size);
  if (key == "workers") in_range(c.workers, 1, max_threads(), " (" + cores + ")");
  // Synthetic data: bounded per setting here, and in total where it is made (datasets.cpp).
  if (key == "synthetic-train") in_range(c.synthetic_train, 1, 10'000'000, " samples");
  if (key == "synthetic-test") in_range(c.synthetic_test, 1, 10'000'000, " samples");
  if (key == "synthetic-size") in_range(c.synthetic_size, 1, 4096, " pixels");
  if (key == "synthetic-channels") in_range(c.synthetic_channels, 1, 1024, " channels");
  if (key == "synthetic-classes") in_range(c.synthetic_classes, 1, 100'000, " classes");
  if (key == "threads") in_range(c.threads, 0, max_threads(), " (0: every core; " + cores + ")");
  if (key == "val-split" && c.val_split < 0) fail("0 (no validation set) or a number of samples");
  if (key == "train-subset" && c.train_subset < 0) fail("0 (the whole training set) or a number of samples");
  if (key == "limit-batches" && c.limit_batches < 0) fail("0 (no limit) or more");
  if (key == "limit-test-batches" && c.limit_test_batches < 0) fail("0 (the whole test set) or more");
  if (key == "log-every" && c.log_every < 0) fail("0 (no steps.jsonl) or more");
  if (key == "eval-every") positive(c.eval_every);
  if (key == "dynamics-every") positive(c.dynamics_every);
  if (key == "lr" && c.lr) non_negative(*c.lr);
  if (key == "weight-decay" && c.weight_decay) non_negative(*c.weight_decay);
  if (key == "momentum" && c.momentum) non_negative(*c.momentum);
  if (key == "eps" && c.eps) non_negative(*c.eps);
  if (key == "warmup-epochs") non_negative(c.warmup_epochs);
  if (key == "accumulate") positive(c.accumulate);
  if (key == "nproc") in_range(c.nproc, 1, max_threads(), " processes (" + cores + ")");
  if (key == "world-size") positive(c.world_size);
  if (key == "rank" && c.rank < 0) fail("0 or more (and < world-size)");
  if (key == "local-rank" && c.local_rank < -1) fail("-1 (the rank) or a rank >= 0 on this machine");
  if (key == "master-port" && (c.master_port < 0 || c.master_port > 65535)) fail("a port 1..65535");
  // Checked here, before it becomes milliseconds (1e16 s overflowed to a negative timeout).
  if (key == "dist-timeout" && !(c.dist_timeout > 0 && c.dist_timeout <= 86400)) {
    fail("seconds > 0, at most 86400 (a day)");
  }
  if (key == "gamma" && !(c.gamma > 0)) fail("a number > 0");
}

/// `v` as the help shows a default, the shorter of its plain and exponent forms: 0.1, 1e-3.
std::string number(double v) { return util::compact_number(v); }
/// "a | b | c": the choices of a setting that is a word, as help lists them.
std::string choices(const std::vector<std::string>& words) { return util::join_words(words, " | "); }
std::string pair(const std::tuple<double, double>& v) {
  return number(std::get<0>(v)) + "," + number(std::get<1>(v));
}

// The optimizer settings' help, its defaults taken from defaults_table().
const FamilyDefaults& sgd_row() { return family_defaults("sgd"); }
const FamilyDefaults& adam_row() { return family_defaults("adam"); }
const FamilyDefaults& adai_row() { return family_defaults("adai"); }
std::string lr_help() {
  return "learning rate (default: " + number(sgd_row().lr) + " SGD family, " + number(adam_row().lr) +
         " Adam family, " + number(adai_row().lr) + " Adai family)";
}
std::string weight_decay_help() {
  return "weight decay lambda (default " + number(kDefaultWeightDecay) + "; adamw: " +
         number(kDefaultWeightDecay) + "/lr, the paper's convention, where torch.optim.AdamW "
         "defaults to 1e-2; see --weight-decay-over-lr)";
}
std::string momentum_help() { return "SGD momentum (default " + number(sgd_row().momentum) + ")"; }
std::string betas_help() {
  return "B1,B2 (default " + pair(adam_row().betas) + " Adam; " + pair(adai_row().betas) + " Adai)";
}
std::string eps_help() {
  return "Adam epsilon (default " + number(adam_row().eps) + ") / Adai inertia bound (default " +
         number(adai_row().eps) + ")";
}

const std::vector<Entry>& table() {
  static const std::vector<Entry> entries = {
      entry("dataset", choices(data::dataset_names()), &TrainConfig::dataset),
      entry("data-dir", "folder with the dataset's files (default place for fashion-mnist)", &TrainConfig::data_dir),
      entry("synthetic-train", "synthetic dataset: training samples", &TrainConfig::synthetic_train),
      entry("synthetic-test", "synthetic dataset: test samples", &TrainConfig::synthetic_test),
      entry("synthetic-size", "synthetic dataset: image height = width", &TrainConfig::synthetic_size),
      entry("synthetic-channels", "synthetic dataset: channels", &TrainConfig::synthetic_channels),
      entry("synthetic-classes", "synthetic dataset: classes", &TrainConfig::synthetic_classes),
      entry("train-subset", "train on a class-balanced subset of N training samples (0: all); the same subset for every seed", &TrainConfig::train_subset),
      entry("subset-seed", "which class-balanced subset --train-subset takes (independent of --seed)", &TrainConfig::subset_seed),
      entry("val-split", "hold N training samples out (stratified by class; taken before --train-subset) and choose the best epoch and best.pt on them; the test error is reported at that epoch (0: none, best is chosen on the test set)", &TrainConfig::val_split),
      entry("val-seed", "which samples --val-split holds out (independent of --seed)", &TrainConfig::val_seed),
      entry("augment", "random crop (padding 4) and flip (default: on for CIFAR; --no-augment: off)", &TrainConfig::augment),
      entry("workers", "threads preparing batches", &TrainConfig::workers),
      entry("model", choices(models::model_names()), &TrainConfig::model),
      entry("optimizer", choices(optimizer_names()), &TrainConfig::optimizer),
      entry("lr", lr_help(), &TrainConfig::lr),
      entry("weight-decay", weight_decay_help(), &TrainConfig::weight_decay),
      applied_entry("weight-decay-over-lr", "weight decay := weight-decay (default " + number(kDefaultWeightDecay) + ") / lr: the paper's convention that gives AdamW the per-step decay lr x lambda of the others (adamw's default; config.json records the result)", &TrainConfig::weight_decay_over_lr),
      entry("momentum", momentum_help(), &TrainConfig::momentum),
      entry("dampening", "SGD dampening", &TrainConfig::dampening),
      entry("nesterov", "SGD Nesterov momentum", &TrainConfig::nesterov),
      entry("betas", betas_help(), &TrainConfig::betas),
      entry("eps", eps_help(), &TrainConfig::eps),
      entry("no-decay-bias-norm", "no weight decay for biases and normalisation layers", &TrainConfig::no_decay_bias_norm),
      entry("epochs", "training epochs", &TrainConfig::epochs),
      entry("batch-size", "batch size", &TrainConfig::batch_size),
      word_entry("scale-rule", choices(schedule::scale_rule_names()) + ": scale lr or weight decay by batch-size / base-batch-size", &TrainConfig::scale_rule, kScaleRuleWords),
      entry("base-batch-size", "the batch size the lr and weight decay were tuned for", &TrainConfig::base_batch_size),
      word_entry("lr-schedule", choices(schedule::schedule_kinds()), &TrainConfig::lr_schedule, kScheduleWords),
      entry("milestones", "step schedule: epochs E1,E2,... (fractional allowed; default 40% and 80% of the steps)", &TrainConfig::milestones),
      entry("gamma", "step schedule: factor at each milestone", &TrainConfig::gamma),
      entry("warmup-epochs", "linear learning-rate warm-up epochs", &TrainConfig::warmup_epochs),
      word_entry("wd-schedule", "weight-decay multiplier schedule: " + choices(schedule::schedule_kinds()), &TrainConfig::wd_schedule, kScheduleWords),
      entry("seed", "seed of the model, data order and augmentation", &TrainConfig::seed),
      entry("threads", "LibTorch threads (0: every core)", &TrainConfig::threads),
      entry("out", "output folder (default runs/<timestamp>-<optimizer>)", &TrainConfig::out),
      entry("resume", "continue the run in --out from its checkpoint", &TrainConfig::resume),
      entry("limit-batches", "stop each epoch after N batches (0: whole epoch)", &TrainConfig::limit_batches),
      entry("limit-test-batches", "evaluate on the first N test batches of 500 (0: the whole test set)", &TrainConfig::limit_test_batches),
      entry("log-every", "write a line of steps.jsonl every N optimizer steps (0: none)", &TrainConfig::log_every),
      entry("tensorboard", "also write TensorBoard event files into the run folder: scalars per --log-every step and per epoch (tensorboard --logdir DIR; a sweep's folder shows every run)", &TrainConfig::tensorboard),
      entry("eval-every", "evaluate on the test set every N epochs and after the last (other epochs leave the test columns empty)", &TrainConfig::eval_every),
      entry("dynamics-every", "measure the learning dynamics (angular update, effective lr; docs/DYNAMICS.md) every N steps; the decay budget counts every step", &TrainConfig::dynamics_every),
      word_entry("progress", choices(progress_mode_names()), &TrainConfig::progress, kProgressWords),
      entry("checkpoint-every", "also checkpoint every N training batches (0: at epoch ends only)", &TrainConfig::checkpoint_every),
      entry("device", std::string(kDeviceForms) + " (auto: the first CUDA device if any, else the CPU)",
            &TrainConfig::device),
      word_entry("precision", choices(precision_names()) + " (bf16 autocast for the forward pass; weights and optimizer state stay fp32)", &TrainConfig::precision, kPrecisionWords),
      entry("channels-last", "conv weights and image batches in channels-last (NHWC) layout: oneDNN's faster convolutions on the CPU; the same numbers up to rounding", &TrainConfig::channels_last),
      word_entry("on-nonfinite", choices(on_nonfinite_names()) + ": what a non-finite loss or gradient does", &TrainConfig::on_nonfinite, kOnNonFiniteWords),
      // data parallelism and accumulation (docs/DISTRIBUTED.md)
      entry("accumulate", "micro-batches per optimizer step (batch-size stays the global batch)", &TrainConfig::accumulate),
      launch_entry("nproc", "start N local worker processes (data parallel)", &TrainConfig::nproc),
      launch_entry("rank", "this process's rank in a multi-machine run (default: torchrun's RANK, else Slurm's SLURM_PROCID, else 0)", &TrainConfig::rank),
      launch_entry("world-size", "number of processes in a multi-machine run (default: torchrun's WORLD_SIZE, else Slurm's SLURM_NTASKS, else 1)", &TrainConfig::world_size),
      launch_entry("master-addr", "address of rank 0 (rendezvous; default: MASTER_ADDR, else 127.0.0.1)", &TrainConfig::master_addr),
      launch_entry("master-port", "port of rank 0's rendezvous (TCPStore; default: MASTER_PORT)", &TrainConfig::master_port),
      launch_entry("local-rank", "this process's rank on its machine: it trains on cuda:<local-rank> (default -1: --rank; torchrun's LOCAL_RANK, Slurm's SLURM_LOCALID)", &TrainConfig::local_rank),
      launch_entry("dist-timeout", "seconds a rank waits for the others (rendezvous, each collective) before failing (default 60)", &TrainConfig::dist_timeout),
  };
  return entries;
}

std::string normalise(std::string key) {
  for (auto& ch : key) {
    if (ch == '_') ch = '-';
  }
  return key;
}

const Entry& find(const std::string& raw_key) {
  const std::string key = normalise(raw_key);
  for (const auto& e : table()) {
    if (e.key == key) return e;
  }
  std::vector<std::string> keys;
  for (const auto& e : table()) keys.push_back(e.key);
  throw ConfigError("unknown configuration key '" + detail::cut(raw_key) + "'" + util::did_you_mean(key, keys));
}

}  // namespace

namespace detail {
bool config_key_takes_list(const std::string& key) { return find(key).list; }
std::string canonical_key(const std::string& raw_key) { return find(raw_key).key; }
}  // namespace detail

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const auto& e : table()) keys.push_back(e.key);
  return keys;
}

std::string config_help(const std::string& key) { return find(key).help; }
std::string config_type(const std::string& key) { return find(key).type; }
std::string config_default(const std::string& key) {
  const Json value = find(key).get(TrainConfig{});
  if (value.is_null() || (value.is_string() && value.get<std::string>().empty())) return "";
  return json_to_text(key, value, true);
}
bool config_key_is_flag(const std::string& key) { return find(key).flag; }
bool config_key_is_launch(const std::string& key) { return find(key).launch; }

void set_config_value(TrainConfig& config, const std::string& key, const std::string& value) {
  const auto& e = find(key);
  e.set(config, value);
  check(e.key, config, value);
}

std::string config_to_json(const TrainConfig& config) {
  Json doc = Json::object();
  for (const auto& e : table()) {
    if (!e.launch && e.recorded) doc[e.key] = e.get(config);
  }
  return doc.dump(2);
}

TrainConfig config_from_json(const std::string& text) {
  TrainConfig config;
  const Json doc = detail::parse_config_json(text, "configuration");
  if (!doc.is_object()) throw ConfigError("configuration must be a JSON object");
  for (const auto& [key, value] : doc.items()) {
    if (!detail::is_record_key(key)) {
      set_config_value(config, key, json_to_text(key, value, detail::config_key_takes_list(key)));
    }
  }
  return config;
}

}  // namespace config
}  // namespace swd
