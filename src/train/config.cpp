// The table of TrainConfig keys: parsing from text (flags, TOML, JSON) and writing JSON.
#include "swd/train/config.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <toml++/toml.h>

#include "swd/data/dataset.h"
#include "swd/models/models.h"
#include "swd/train/optimizer_factory.h"

namespace swd {
namespace train {

using Json = nlohmann::json;

namespace {

const char* const kDerivedKey = "derived";

[[noreturn]] void bad_value(const std::string& key, const std::string& value,
                            const std::string& expected) {
  throw ConfigError("invalid value '" + value + "' for " + key + " (expected " + expected + ")");
}

// ---- text -> value, one overload per member type ---------------------------------------
void parse(const std::string&, const std::string& text, std::string& out) { out = text; }

void parse(const std::string& key, const std::string& text, double& out) {
  try {
    size_t used = 0;
    out = std::stod(text, &used);
    if (used == text.size() && std::isfinite(out)) return;
  } catch (const std::exception&) {
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
  int64_t v = 0;
  parse(key, text, v);
  if (v < 0) bad_value(key, text, "a non-negative integer");
  out = static_cast<uint64_t>(v);
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

/// A JSON or TOML scalar/array as the text the parsers above take.
std::string json_to_text(const std::string& key, const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    std::ostringstream out;
    out.precision(17);
    out << v.get<double>();
    return out.str();
  }
  if (v.is_array()) {
    std::string text;
    for (size_t i = 0; i < v.size(); ++i) text += (i ? "," : "") + json_to_text(key, v[i]);
    return text;
  }
  throw ConfigError("invalid value for " + key + ": " + v.dump() +
                    " (expected a number, string, boolean or list)");
}

// ---- the table ---------------------------------------------------------------------------
struct Entry {
  std::string key;
  std::string help;
  bool flag = false;
  bool launch = false;  ///< a launch setting: not in config.json
  std::function<void(TrainConfig&, const std::string&)> set;
  std::function<Json(const TrainConfig&)> get;
};

template <typename T>
Entry entry(const char* key, const char* help, T TrainConfig::*member) {
  Entry e;
  e.key = key;
  e.help = help;
  e.flag = std::is_same_v<T, bool>;
  e.set = [key = std::string(key), member](TrainConfig& c, const std::string& text) {
    parse(key, text, c.*member);
  };
  e.get = [member](const TrainConfig& c) { return to_json(c.*member); };
  return e;
}

template <typename T>
Entry launch_entry(const char* key, const char* help, T TrainConfig::*member) {
  Entry e = entry(key, help, member);
  e.launch = true;
  return e;
}

void require_choice(const std::string& key, const std::string& value,
                    const std::vector<std::string>& choices) {
  for (const auto& c : choices) {
    if (c == value) return;
  }
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i) list += (i ? ", " : "") + choices[i];
  bad_value(key, value, "one of " + list);
}

/// Range and choice checks after parsing; each names the key.
void check(const std::string& key, const TrainConfig& c) {
  auto positive = [&](int64_t v) {
    if (v <= 0) bad_value(key, std::to_string(v), "a positive integer");
  };
  auto non_negative = [&](double v) {
    if (!(v >= 0)) bad_value(key, json_to_text(key, Json(v)), "a number >= 0");
  };
  if (key == "dataset") require_choice(key, c.dataset, data::dataset_names());
  if (key == "model") require_choice(key, c.model, models::model_names());
  if (key == "optimizer") require_choice(key, c.optimizer, optimizer_names());
  if (key == "lr-schedule") require_choice(key, c.lr_schedule, {"constant", "step", "cosine"});
  if (key == "wd-schedule") require_choice(key, c.wd_schedule, {"constant", "step", "cosine"});
  if (key == "progress") require_choice(key, c.progress, {"auto", "bar", "line", "none"});
  if (key == "on-nonfinite") require_choice(key, c.on_nonfinite, {"stop", "skip"});
  if (key == "checkpoint-every" && c.checkpoint_every < 0) bad_value(key, std::to_string(c.checkpoint_every), "0 (epoch ends only) or more");
  if (key == "scale-rule") require_choice(key, c.scale_rule, {"none", "lr", "wd"});
  if (key == "base-batch-size") positive(c.base_batch_size);
  if (key == "epochs") positive(c.epochs);
  if (key == "batch-size") positive(c.batch_size);
  if (key == "workers") positive(c.workers);
  if (key == "synthetic-train") positive(c.synthetic_train);
  if (key == "synthetic-test") positive(c.synthetic_test);
  if (key == "synthetic-size") positive(c.synthetic_size);
  if (key == "synthetic-channels") positive(c.synthetic_channels);
  if (key == "synthetic-classes") positive(c.synthetic_classes);
  if (key == "threads" && c.threads < 0) bad_value(key, std::to_string(c.threads), "0 (every core) or more");
  if (key == "train-subset" && c.train_subset < 0) bad_value(key, std::to_string(c.train_subset), "0 (the whole training set) or a number of samples");
  if (key == "limit-batches" && c.limit_batches < 0) bad_value(key, std::to_string(c.limit_batches), "0 (no limit) or more");
  if (key == "lr" && c.lr) non_negative(*c.lr);
  if (key == "weight-decay" && c.weight_decay) non_negative(*c.weight_decay);
  if (key == "momentum" && c.momentum) non_negative(*c.momentum);
  if (key == "eps" && c.eps) non_negative(*c.eps);
  if (key == "warmup-epochs") non_negative(c.warmup_epochs);
  if (key == "accumulate") positive(c.accumulate);
  if (key == "nproc") positive(c.nproc);
  if (key == "world-size") positive(c.world_size);
  if (key == "rank" && c.rank < 0) bad_value(key, std::to_string(c.rank), "0 or more (and < world-size)");
  if (key == "master-port" && (c.master_port < 0 || c.master_port > 65535)) bad_value(key, std::to_string(c.master_port), "a port 1..65535");
  if (key == "dist-timeout" && !(c.dist_timeout > 0)) bad_value(key, json_to_text(key, Json(c.dist_timeout)), "seconds > 0");
  if (key == "gamma" && !(c.gamma > 0)) bad_value(key, json_to_text(key, Json(c.gamma)), "a number > 0");
}

const std::vector<Entry>& table() {
  static const std::vector<Entry> entries = {
      entry("dataset", "fashion-mnist | mnist | kmnist | cifar10 | cifar100 | synthetic", &TrainConfig::dataset),
      entry("data-dir", "folder with the dataset's files (default place for fashion-mnist)", &TrainConfig::data_dir),
      entry("synthetic-train", "synthetic dataset: training samples", &TrainConfig::synthetic_train),
      entry("synthetic-test", "synthetic dataset: test samples", &TrainConfig::synthetic_test),
      entry("synthetic-size", "synthetic dataset: image height = width", &TrainConfig::synthetic_size),
      entry("synthetic-channels", "synthetic dataset: channels", &TrainConfig::synthetic_channels),
      entry("synthetic-classes", "synthetic dataset: classes", &TrainConfig::synthetic_classes),
      entry("train-subset", "train on a class-balanced subset of N training samples (0: all); the same subset for every seed", &TrainConfig::train_subset),
      entry("subset-seed", "which class-balanced subset --train-subset takes (independent of --seed)", &TrainConfig::subset_seed),
      entry("augment", "random crop (padding 4) and flip; default: on for CIFAR", &TrainConfig::augment),
      entry("workers", "threads preparing batches", &TrainConfig::workers),
      entry("model", "mlp | cnn | mlp-bn | cnn-bn | resnet8 | resnet14 | resnet20 | resnet32 | resnet44 | resnet56 | resnet18 | resnet34 | vgg16 | densenet121 | googlenet", &TrainConfig::model),
      entry("optimizer", "sgd | sgdw | sgds | adam | adamw | adams | amsgrad | amsgrads | adai | adais", &TrainConfig::optimizer),
      entry("lr", "learning rate (default: 0.1 SGD family, 1e-3 Adam family, 0.5 Adai family)", &TrainConfig::lr),
      entry("weight-decay", "weight decay lambda (default 5e-4; adamw: 5e-4/lr, the paper's convention)", &TrainConfig::weight_decay),
      entry("momentum", "SGD momentum (default 0.9)", &TrainConfig::momentum),
      entry("dampening", "SGD dampening", &TrainConfig::dampening),
      entry("nesterov", "SGD Nesterov momentum", &TrainConfig::nesterov),
      entry("betas", "B1,B2 (default 0.9,0.999 Adam; 0.1,0.99 Adai)", &TrainConfig::betas),
      entry("eps", "Adam epsilon (default 1e-8) / Adai inertia bound (default 1e-3)", &TrainConfig::eps),
      entry("no-decay-bias-norm", "no weight decay for biases and normalisation layers", &TrainConfig::no_decay_bias_norm),
      entry("epochs", "training epochs", &TrainConfig::epochs),
      entry("batch-size", "batch size", &TrainConfig::batch_size),
      entry("scale-rule", "none | lr | wd: scale lr or weight decay by batch-size / base-batch-size", &TrainConfig::scale_rule),
      entry("base-batch-size", "the batch size the lr and weight decay were tuned for", &TrainConfig::base_batch_size),
      entry("lr-schedule", "constant | step | cosine", &TrainConfig::lr_schedule),
      entry("milestones", "step schedule: epochs E1,E2,... (default 40% and 80% of training)", &TrainConfig::milestones),
      entry("gamma", "step schedule: factor at each milestone", &TrainConfig::gamma),
      entry("warmup-epochs", "linear learning-rate warm-up epochs", &TrainConfig::warmup_epochs),
      entry("wd-schedule", "weight-decay multiplier schedule: constant | step | cosine", &TrainConfig::wd_schedule),
      entry("seed", "seed of the model, data order and augmentation", &TrainConfig::seed),
      entry("threads", "LibTorch threads (0: every core)", &TrainConfig::threads),
      entry("out", "output folder (default runs/<timestamp>-<optimizer>)", &TrainConfig::out),
      entry("resume", "continue the run in --out from its checkpoint", &TrainConfig::resume),
      entry("limit-batches", "stop each epoch after N batches (0: whole epoch)", &TrainConfig::limit_batches),
      entry("progress", "auto | bar | line | none", &TrainConfig::progress),
      entry("checkpoint-every", "also checkpoint every N training batches (0: at epoch ends only)", &TrainConfig::checkpoint_every),
      entry("on-nonfinite", "stop | skip: what a non-finite loss or gradient does", &TrainConfig::on_nonfinite),
      // data parallelism and accumulation (docs/DISTRIBUTED.md)
      entry("accumulate", "micro-batches per optimizer step (batch-size stays the global batch)", &TrainConfig::accumulate),
      launch_entry("nproc", "start N local worker processes (data parallel)", &TrainConfig::nproc),
      launch_entry("rank", "this process's rank in a multi-machine run", &TrainConfig::rank),
      launch_entry("world-size", "number of processes in a multi-machine run", &TrainConfig::world_size),
      launch_entry("master-addr", "address of rank 0 (rendezvous)", &TrainConfig::master_addr),
      launch_entry("master-port", "port of rank 0's rendezvous (TCPStore)", &TrainConfig::master_port),
      launch_entry("dist-timeout", "seconds a rank waits for the others (rendezvous, each collective) before failing (default 60)", &TrainConfig::dist_timeout),
  };
  return entries;
}

/// TOML 1.0 allows non-ASCII characters only inside strings and comments, and toml++ 3.3
/// reaches __builtin_unreachable (undefined behaviour) on some of them elsewhere (U+00A1..,
/// found by fuzz/fuzz_config). Refuse them outside strings and comments before parsing.
void reject_non_ascii_outside_strings(const std::string& text, const std::string& path) {
  enum class In { Code, Comment, Basic, Literal, MultiBasic, MultiLiteral } in = In::Code;
  int line = 1;
  auto starts = [&](size_t i, const char* token) { return text.compare(i, 3, token) == 0; };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    switch (in) {
      case In::Code:
        if (c == '#') in = In::Comment;
        else if (starts(i, "\"\"\"")) in = In::MultiBasic, i += 2;
        else if (starts(i, "'''")) in = In::MultiLiteral, i += 2;
        else if (c == '"') in = In::Basic;
        else if (c == '\'') in = In::Literal;
        else if (static_cast<unsigned char>(c) >= 0x80) {
          throw ConfigError("config file " + path + " is not valid TOML: a non-ASCII character "
                            "outside a string or comment on line " + std::to_string(line));
        }
        break;
      case In::Comment:
        if (c == '\n') in = In::Code;
        break;
      case In::Basic:
        if (c == '\\') ++i;
        else if (c == '"' || c == '\n') in = In::Code;
        break;
      case In::Literal:
        if (c == '\'' || c == '\n') in = In::Code;
        break;
      case In::MultiBasic:
        if (c == '\\') ++i;
        else if (starts(i, "\"\"\"")) in = In::Code, i += 2;
        break;
      case In::MultiLiteral:
        if (starts(i, "'''")) in = In::Code, i += 2;
        break;
    }
  }
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
  throw ConfigError("unknown configuration key '" + raw_key + "'");
}

}  // namespace

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const auto& e : table()) keys.push_back(e.key);
  return keys;
}

std::string config_help(const std::string& key) { return find(key).help; }
bool config_key_is_flag(const std::string& key) { return find(key).flag; }
bool config_key_is_launch(const std::string& key) { return find(key).launch; }

void set_config_value(TrainConfig& config, const std::string& key, const std::string& value) {
  const auto& e = find(key);
  e.set(config, value);
  check(e.key, config);
}

void apply_config_file(TrainConfig& config, const std::string& path) {
  for (const auto& [key, text] : read_config_file(path)) set_config_value(config, key, text);
}

std::vector<std::pair<std::string, std::string>> read_config_file(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> entries;
  TrainConfig scratch;  // each entry is checked as it is read
  auto add = [&](const std::string& key, const Json& value) {
    if (key == kDerivedKey) return;
    const std::string text = json_to_text(key, value);
    set_config_value(scratch, key, text);
    entries.emplace_back(key, text);
  };
  const auto dot = path.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file " + path);
  if (ext == ".json") {
    Json doc;
    try {
      doc = Json::parse(in);
    } catch (const std::exception& e) {
      throw ConfigError("config file " + path + " is not valid JSON: " + e.what());
    }
    if (!doc.is_object()) throw ConfigError("config file " + path + " must hold a JSON object");
    for (const auto& [key, value] : doc.items()) add(key, value);
    return entries;
  }
  if (ext != ".toml") {
    throw ConfigError("config file " + path + ": unknown extension '" + ext +
                      "' (expected .toml or .json)");
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  reject_non_ascii_outside_strings(text, path);
  toml::table doc;
  try {
    doc = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "config file " << path << " is not valid TOML: " << e.description() << " (line "
        << e.source().begin.line << ")";
    throw ConfigError(msg.str());
  }
  for (const auto& [raw_key, node] : doc) {
    const std::string key(raw_key.str());
    Json value;
    if (auto s = node.value<std::string>(); s && node.is_string()) value = *s;
    else if (node.is_boolean()) value = *node.value<bool>();
    else if (node.is_integer()) value = *node.value<int64_t>();
    else if (node.is_floating_point()) value = *node.value<double>();
    else if (const auto* arr = node.as_array()) {
      value = Json::array();
      for (const auto& item : *arr) {
        if (item.is_integer()) value.push_back(*item.value<int64_t>());
        else if (item.is_floating_point()) value.push_back(*item.value<double>());
        else throw ConfigError("invalid value for " + key + " in " + path + " (expected a list of numbers)");
      }
    } else {
      throw ConfigError("invalid value for " + key + " in " + path +
                        " (expected a number, string, boolean or list)");
    }
    add(key, value);
  }
  return entries;
}

std::string config_to_json(const TrainConfig& config) {
  Json doc = Json::object();
  for (const auto& e : table()) {
    if (!e.launch) doc[e.key] = e.get(config);
  }
  return doc.dump(2);
}

TrainConfig config_from_json(const std::string& text) {
  TrainConfig config;
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const std::exception& e) {
    throw ConfigError(std::string("configuration is not valid JSON: ") + e.what());
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != kDerivedKey) set_config_value(config, key, json_to_text(key, value));
  }
  return config;
}

}  // namespace train
}  // namespace swd
