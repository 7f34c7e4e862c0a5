// Writes the seed corpus: one small valid input per fuzz target (fuzz/corpus/<target>/).
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "swd/optim/adam.h"
#include "swd/run/checkpoint.h"
#include "swd/util/io.h"

namespace {
void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift & 0xff));
}
void write(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}
}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path root = argc > 1 ? argv[1] : "fuzz/corpus";
  // IDX: 3 images of 2x2 and 3 labels, joined at the split the fuzz target reads.
  std::string images, labels;
  put_u32(images, 0x803);
  put_u32(images, 3);
  put_u32(images, 2);
  put_u32(images, 2);
  for (int i = 0; i < 12; ++i) images.push_back(static_cast<char>(i * 20));
  put_u32(labels, 0x801);
  put_u32(labels, 3);
  labels += std::string("\x01\x02\x09", 3);
  write(root / "fuzz_idx" / "valid", std::string{0, static_cast<char>(images.size())} + images + labels);
  // CIFAR-10: two records; CIFAR-100: one record.
  std::string cifar10(1, '\0'), cifar100(1, '\1');
  for (int r = 0; r < 2; ++r) cifar10 += std::string(1, char(r + 3)) + std::string(3072, char(r * 50));
  cifar100 += std::string("\x05\x41", 2) + std::string(3072, '\x7f');
  write(root / "fuzz_cifar" / "cifar10", cifar10);
  write(root / "fuzz_cifar" / "cifar100", cifar100);
  // Configs.
  write(root / "fuzz_config" / "toml",
        std::string(1, '\0') + "optimizer = \"adams\"\nlr = 0.001\nmilestones = [2, 4]\n");
  write(root / "fuzz_config" / "json",
        std::string(1, '\1') + R"({"model": "mlp", "betas": [0.9, 0.999], "augment": null})");
  // A checkpoint of the fuzz target's own model and optimizer.
  torch::nn::Linear model(2, 2);
  swd::optim::Adam optimizer(model->parameters(),
                             swd::optim::AdamOptions(1e-3).decay(swd::optim::Decay::Stable));
  swd::run::CheckpointInfo info;
  info.config_json = "{}";
  std::filesystem::create_directories(root / "fuzz_checkpoint");
  swd::run::save_checkpoint((root / "fuzz_checkpoint" / "valid.pt").string(), *model, optimizer, info);
  return 0;
}
