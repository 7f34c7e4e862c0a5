#pragma once
// The device and precision a run trains with (--device, --precision; docs/TRAINING.md).
//
// --device auto|cpu|cuda|cuda:N is resolved once, at the start of a run: auto is the first
// CUDA device LibTorch sees (with --nproc or --world-size: the rank's own, cuda:<local rank>),
// else the CPU. The model, the optimizer state, the batches and the evaluation live there.
// --precision fp32|bf16: bf16 runs the forward pass under autocast (matrix products and
// convolutions in bfloat16); parameters, gradients and optimizer state stay float32.

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "swd/config/settings.h"
#include "swd/data/loader.h"

namespace swd {
namespace models {
class Classifier;
}  // namespace models
namespace train {

/// The device `spec` names on this machine, for rank `local_rank` of this machine's ranks
/// (auto and cuda take cuda:<local_rank modulo the device count>). Throws ConfigError naming
/// the value and what exists: cuda where LibTorch has no CUDA or sees no device, cuda:N with
/// N at or beyond the device count.
c10::Device resolve_device(const std::string& spec, int64_t local_rank = 0);

/// What the device is: the GPU's name ("NVIDIA H200"), or the CPU's model name.
std::string device_name(const c10::Device& device);

/// Whether `precision` can run on `device`: throws ConfigError naming both when bf16 autocast
/// is not available there.
void check_precision(Precision precision, const c10::Device& device);

/// Autocast for one forward pass: bf16 on `device` while it lives (nothing for fp32).
/// Restores the previous autocast state and clears autocast's weight cache on exit.
class AutocastGuard {
 public:
  AutocastGuard(const c10::Device& device, Precision precision);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::Undefined;
};

/// --channels-last: every 4-D parameter and buffer of `model` in channels-last (NHWC) layout,
/// in place (the same tensors, so optimizers and hooks holding them stay valid).
void use_channels_last(models::Classifier& model);

/// The forward pass of `model` on `data`, under `precision` (fp32, or bf16 autocast) on
/// `device`: float32 logits, for a float32 loss. `channels_last`: the model's weights are in
/// channels-last layout (use_channels_last, --channels-last), and an image batch is put in it too.
at::Tensor forward_with(models::Classifier& model, const at::Tensor& data, const c10::Device& device,
                        Precision precision, bool channels_last);

/// Values of 0-dim tensors on one device, read back to the host in one copy (a GPU is
/// synchronised once, not once per value).
std::vector<double> read_back(const std::vector<at::Tensor>& values);

/// Batches for `device`: on CUDA, the loader's worker threads put each batch in pinned
/// (page-locked) host memory, so that to_device copies it asynchronously. Sets
/// options.transform (which must be unset); nothing for the CPU.
void pin_batches_for(const c10::Device& device, data::LoaderOptions& options);
/// `batch` on `device` (non_blocking from pinned memory; the same tensors on the CPU).
data::Batch to_device(const data::Batch& batch, const c10::Device& device);

}  // namespace train
}  // namespace swd
