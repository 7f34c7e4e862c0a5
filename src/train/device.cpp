// --device and --precision (device.h): resolving the device, its name, autocast, and batches
// in pinned memory copied without blocking.
#include "swd/train/device.h"

#include <ATen/autocast_mode.h>
#include <ATen/ops/stack.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "swd/config/config_error.h"
#include "swd/models/models.h"

namespace swd {
namespace train {

namespace {

// torch 2.4 replaced the per-backend autocast setters with ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(bool cuda) {
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
}
void set_autocast_enabled(bool cuda, bool on) {
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on);
}
c10::ScalarType autocast_dtype(bool cuda) {
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
}
void set_autocast_dtype(bool cuda, c10::ScalarType dtype) {
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
}
#else
bool autocast_enabled(bool cuda) {
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void set_autocast_enabled(bool cuda, bool on) {
  cuda ? at::autocast::set_enabled(on) : at::autocast::set_cpu_enabled(on);
}
c10::ScalarType autocast_dtype(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast_dtype(bool cuda, c10::ScalarType dtype) {
  cuda ? at::autocast::set_autocast_gpu_dtype(dtype) : at::autocast::set_autocast_cpu_dtype(dtype);
}
#endif

/// The CUDA driver's name for device `index`, through the driver library the CUDA build of
/// LibTorch has loaded (no CUDA headers needed here); empty when it cannot be asked.
std::string cuda_device_name(int index) {
  void* driver = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (driver == nullptr) return {};
  using GetDevice = int (*)(int*, int);
  using GetName = int (*)(char*, int, int);
  auto get_device = reinterpret_cast<GetDevice>(::dlsym(driver, "cuDeviceGet"));
  auto get_name = reinterpret_cast<GetName>(::dlsym(driver, "cuDeviceGetName"));
  std::string name;
  int handle = 0;
  char buffer[256] = {};
  if (get_device != nullptr && get_name != nullptr && get_device(&handle, index) == 0 &&
      get_name(buffer, sizeof buffer - 1, handle) == 0) {
    name = buffer;
  }
  ::dlclose(driver);
  return name;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) return "CPU (" + line.substr(line.find_first_not_of(" \t", colon + 1)) + ")";
  }
  return "CPU";
}

/// Whether LibTorch was built with CUDA (its CUDA library registered the hooks), GPU or not.
bool libtorch_has_cuda() {
  try {
    at::detail::getCUDAHooks().versionCUDART();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

c10::Device resolve_device(const std::string& spec, int64_t local_rank) {
  check_device_spec(spec);
  const int64_t count = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  if (spec == "cpu" || (spec == "auto" && count == 0)) return c10::Device(c10::kCPU);
  if (count == 0) {
    throw ConfigError("--device " + spec + ": " +
                      (libtorch_has_cuda() ? std::string("LibTorch sees no CUDA device")
                                           : std::string("this build of LibTorch has no CUDA support")) +
                      " (use --device cpu or auto)");
  }
  int64_t index = local_rank % count;
  if (spec.size() > 5) {
    index = std::stoll(spec.substr(5));
    if (index >= count) {
      throw ConfigError("--device " + spec + ": there " +
                        (count == 1 ? std::string("is 1 CUDA device (cuda:0)")
                                    : "are " + std::to_string(count) + " CUDA devices (cuda:0 to cuda:" +
                                          std::to_string(count - 1) + ")"));
    }
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::string device_name(const c10::Device& device) {
  if (device.is_cpu()) return cpu_model_name();
  const std::string name = cuda_device_name(device.has_index() ? device.index() : 0);
  return name.empty() ? device.str() : name;
}

void check_precision(Precision precision, const c10::Device& device) {
  if (precision != Precision::BF16) return;
  if (!device.is_cpu() && !device.is_cuda()) {
    throw ConfigError("--precision bf16: no bfloat16 autocast on device " + device.str());
  }
}

AutocastGuard::AutocastGuard(const c10::Device& device, Precision precision) {
  if (precision != Precision::BF16) return;
  active_ = true;
  cuda_ = device.is_cuda();
  was_enabled_ = autocast_enabled(cuda_);
  was_dtype_ = autocast_dtype(cuda_);
  set_autocast_enabled(cuda_, true);
  set_autocast_dtype(cuda_, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // The weights cast to bfloat16 are cached for the pass; the next step changes them.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(cuda_, was_enabled_);
  set_autocast_dtype(cuda_, was_dtype_);
}

void use_channels_last(models::Classifier& model) {
  torch::NoGradGuard no_grad;
  for (auto tensors : {model.parameters(), model.buffers()}) {
    for (auto& t : tensors) {
      if (t.dim() == 4) t.set_data(t.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
}

at::Tensor forward_with(models::Classifier& model, const at::Tensor& data, const c10::Device& device,
                        Precision precision, bool channels_last) {
  const bool convert = channels_last && data.dim() == 4;
  const auto input = convert ? data.contiguous(at::MemoryFormat::ChannelsLast) : data;
  at::Tensor logits;
  {
    AutocastGuard autocast(device, precision);
    logits = model.forward(input);
  }
  return logits.to(at::kFloat);  // the loss in float32 (a no-op under fp32)
}

std::vector<double> read_back(const std::vector<at::Tensor>& values) {
  std::vector<at::Tensor> as_double;
  for (const auto& v : values) as_double.push_back(v.to(at::kDouble));
  const auto host = at::stack(as_double).cpu();
  return std::vector<double>(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
}

void pin_batches_for(const c10::Device& device, data::LoaderOptions& options) {
  if (!device.is_cuda()) return;
  if (options.transform) throw std::logic_error("pin_batches_for: the loader already has a transform");
  options.transform = [](data::Batch& batch) {  // on a loader thread
    batch.data = batch.data.pin_memory();
    batch.target = batch.target.pin_memory();
  };
}

data::Batch to_device(const data::Batch& batch, const c10::Device& device) {
  if (batch.data.device() == device) return batch;
  data::Batch moved;
  moved.index = batch.index;
  moved.data = batch.data.to(device, /*non_blocking=*/batch.data.is_pinned());
  moved.target = batch.target.to(device, /*non_blocking=*/batch.target.is_pinned());
  return moved;
}

}  // namespace train
}  // namespace swd
