// swd export RUN: the run's weights as a PyTorch state_dict, for runs that have only
// checkpoint.pt (runs write model.pt and best.pt themselves).
#include <cstdio>
#include <string>

#include "commands.h"
#include "swd/train/weights.h"

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
}  // namespace

void add_export_command(CLI::App& app) {
  auto* export_app = app.add_subcommand(
      "export", "write a run's weights (from its checkpoint.pt) as a state_dict torch.load reads");
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
  const std::string written = train::export_weights(f.dir, f.format, f.out);
  std::printf("exported: %s\n", written.c_str());
  return 0;
}

}  // namespace cli
}  // namespace swd
