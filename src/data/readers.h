#pragma once
// The file formats: IDX (MNIST, Fashion-MNIST, KMNIST) and CIFAR binary. Each reader checks
// everything it reads and throws DataError naming the file.

#include <cstdint>
#include <string>
#include <vector>

#include "swd/data/dataset.h"

namespace swd {
namespace data {
namespace detail {

/// An IDX images file (magic 0x00000803: uint8 [N, rows, cols]) and its IDX labels file
/// (magic 0x00000801: uint8 [N]) as images [N, 1, rows, cols] and labels in [0, num_classes).
Dataset read_idx(const std::string& images_path, const std::string& labels_path,
                 int64_t num_classes);

/// The CIFAR binary layout: records of label bytes then 3 x 32 x 32 pixel bytes (CHW).
struct CifarLayout {
  std::vector<std::string> label_names;  ///< one per label byte, e.g. {"coarse", "fine"}
  std::vector<int64_t> label_limits;     ///< each label byte must be below its limit
  size_t used_label = 0;                 ///< the label byte that becomes the target
};
/// CIFAR-10: 1 label byte (< 10). CIFAR-100: coarse (< 20) then fine (< 100) label, fine used.
CifarLayout cifar10_layout();
CifarLayout cifar100_layout();

/// The records of `paths`, in order, as images [N, 3, 32, 32] and labels.
Dataset read_cifar(const std::vector<std::string>& paths, const CifarLayout& layout);

/// Per-channel mean and (population) standard deviation of uint8 images [N, C, H, W], on the
/// [0, 1] scale, exact (from a histogram of byte values). A constant channel gets std 1.
void channel_stats(const at::Tensor& images, std::vector<double>* mean, std::vector<double>* std);

}  // namespace detail
}  // namespace data
}  // namespace swd
