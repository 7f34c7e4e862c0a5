#pragma once
// In-memory image classification datasets: Fashion-MNIST (the embedded default, from Debian's
// dataset-fashion-mnist), MNIST / KMNIST (IDX files), CIFAR-10 / CIFAR-100 (binary version),
// and a seeded synthetic dataset. Every reader checks magic numbers, shapes and file sizes
// and throws swd::data::DataError naming the file and what is wrong.

#include <ATen/Tensor.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace swd {
namespace data {

/// A reader's error: the message names the file and what was expected.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One split of a dataset, held in memory.
struct Dataset {
  at::Tensor images;  ///< [N, C, H, W] uint8
  at::Tensor labels;  ///< [N] int64, in [0, num_classes)
  int64_t num_classes = 0;
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

/// Train and test splits plus the per-channel statistics used to normalise them.
struct DatasetPair {
  std::string name;
  Dataset train;
  Dataset test;
  std::vector<double> mean;  ///< per channel, on the [0, 1] scale
  std::vector<double> std;   ///< per channel, on the [0, 1] scale
  /// The paper's CIFAR recipe (random crop with padding 4, horizontal flip) applies.
  bool augment_by_default = false;
};

/// What to load. `name`: fashion-mnist, mnist, kmnist, cifar10, cifar100, synthetic.
struct DatasetSpec {
  std::string name = "fashion-mnist";
  /// Folder with the files; empty = the default place (fashion-mnist:
  /// /usr/share/datasets/fashion-mnist). Required for mnist, kmnist, cifar10, cifar100.
  std::string data_dir;
  // synthetic only:
  int64_t synthetic_train = 2048;
  int64_t synthetic_test = 512;
  int64_t synthetic_channels = 1;
  int64_t synthetic_size = 28;     ///< height = width
  int64_t synthetic_classes = 10;
  uint64_t seed = 0;
};

/// Where Debian's dataset-fashion-mnist package installs the Fashion-MNIST files.
inline constexpr char kDefaultFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

/// The dataset names load_dataset accepts.
std::vector<std::string> dataset_names();

/// A class-balanced subset of `n` samples of `set`: each class gets n / classes of them (the
/// first n mod classes classes one more; a class with too few gives its share to the
/// others), chosen by a shuffle that depends only on `seed`, kept in the set's order. The
/// same (set, n, seed) always gives the same subset. Throws std::invalid_argument naming n
/// unless classes <= n <= set.size().
Dataset balanced_subset(const Dataset& set, int64_t n, uint64_t seed);

/// A training set split in two: what trains, and what is held out to choose the best epoch.
struct ValidationSplit {
  Dataset train;
  Dataset validation;
};

/// Holds `n` samples of `set` out, stratified: each class gives n x its share of the set
/// (rounded by largest remainder, ties to the lower class), chosen by a shuffle that depends
/// only on `seed`; both parts keep the set's order. The same (set, n, seed) always gives the
/// same split. Throws std::invalid_argument naming n unless 0 < n < set.size().
ValidationSplit split_validation(const Dataset& set, int64_t n, uint64_t seed);

/// Loads both splits. Throws DataError (missing files say which command installs them or
/// which files are expected in data_dir) or std::invalid_argument for an unknown name.
DatasetPair load_dataset(const DatasetSpec& spec);

}  // namespace data
}  // namespace swd
