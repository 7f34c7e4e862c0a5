// swd export RUN: the run's weights as a PyTorch state_dict, for runs that have only
// checkpoint.pt (runs write model.pt and best.pt themselves); then what a Python user needs to
// load them: the state_dict's names and shapes and the input normalisation (docs/MODELS.md).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "swd/models/state_dict.h"
#include "swd/run/weights.h"
#include "swd/util/csv.h"
#include "swd/util/io.h"

namespace swd {
namespace cli {

namespace {
struct ExportFlags {
  std::string dir;
  std::string format = "torch";
  std::string out;
};
ExportFlags& export_flags() {
  static ExportFlags flags;
  return flags;
}

std::string numbers(const nlohmann::json& list) {
  std::string text;
  for (const auto& v : list) text += (text.empty() ? "" : ", ") + util::shortest_number(v.get<double>());
  return "[" + text + "]";
}

/// The state_dict's names and shapes, and the input normalisation from config.json.
void describe_export(const std::string& run_dir, const std::string& written) {
  const auto tensors = models::read_state_dict_bytes(util::read_file(written));
  const auto config = nlohmann::json::parse(util::read_file(run_dir + "/config.json"), nullptr, false);
  const std::string model = config.is_object() ? config.value("model", std::string("?")) : "?";
  std::printf("state_dict of %s: %zu tensors (torch.load gives {name: tensor}; the plain torch "
              "definitions with these names: docs/MODELS.md)\n", model.c_str(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    std::string shape;
    for (const auto size : tensor.sizes()) shape += (shape.empty() ? "" : ", ") + std::to_string(size);
    std::printf("  %s [%s]\n", name.c_str(), shape.c_str());
  }
  const nlohmann::json* input = nullptr;
  if (config.is_object() && config.contains("derived") && config["derived"].contains("input")) {
    input = &config["derived"]["input"];
  }
  if (input != nullptr && (*input)["mean"].is_array() && (*input)["std"].is_array()) {
    std::printf("input: x = (byte / 255 - mean[c]) / std[c] per channel, mean %s, std %s "
                "(config.json: derived.input)\n",
                numbers((*input)["mean"]).c_str(), numbers((*input)["std"]).c_str());
  } else {
    std::printf("input: x = (byte / 255 - mean[c]) / std[c] per channel with the training set's "
                "mean and std (this run's config.json predates its record; docs/MODELS.md gives "
                "each dataset's)\n");
  }
}
}  // namespace

void add_export_command(CLI::App& app) {
  auto* export_app = app.add_subcommand(
      "export", "write a run's weights (from its checkpoint.pt) as a state_dict torch.load reads, "
                "and list its names, shapes and the input normalisation");
  auto& f = export_flags();
  export_app->add_option("run", f.dir, "the run's folder (holding config.json and checkpoint.pt)")
      ->required()
      ->check(CLI::ExistingDirectory);
  export_app->add_option("--format", f.format, "torch: a {name: tensor} state_dict with PyTorch's names")
      ->capture_default_str();
  export_app->add_option("--out", f.out, "the file to write (default: RUN/model.pt; never overwritten)");
}

int run_export() {
  const auto& f = export_flags();
  const std::string written = run::export_weights(f.dir, f.format, f.out);
  std::printf("exported: %s\n", written.c_str());
  describe_export(f.dir, written);
  return 0;
}

}  // namespace cli
}  // namespace swd
