// load_dataset: finds each dataset's files, reads them (readers.cpp) and adds the
// normalisation statistics; the synthetic dataset is generated here.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

#include "file_io.h"
#include "random.h"
#include "readers.h"
#include "swd/data/dataset.h"

namespace swd {
namespace data {

namespace {

using detail::find_file;
using detail::join_words;

const std::vector<std::string> kIdxFiles = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
constexpr int64_t kIdxClasses = 10;

// The files of `names` in `dir` (each may be gzipped, name.gz); DataError listing what is
// missing, with `hint` appended.
std::vector<std::string> locate(const std::string& dataset, const std::string& dir,
                                const std::vector<std::string>& names, const std::string& hint) {
  std::vector<std::string> paths, missing;
  for (const auto& name : names) {
    paths.push_back(find_file(dir, name));
    if (paths.back().empty()) missing.push_back(name);
  }
  if (missing.empty()) return paths;
  const std::string where = detail::is_directory(dir)
                                ? "folder " + dir + " lacks " + join_words(missing)
                                : "folder " + dir + " does not exist";
  throw DataError(dataset + ": " + where + " (expected " + join_words(names) +
                  ", each plain or gzipped as name.gz)" + hint);
}

// MNIST, Fashion-MNIST, KMNIST: the four IDX files of the original distribution.
DatasetPair load_idx_pair(const DatasetSpec& spec) {
  const bool default_dir = spec.data_dir.empty();
  if (default_dir && spec.name != "fashion-mnist") {
    throw DataError(spec.name + " needs --data-dir (data-dir in a config file): a folder holding " + join_words(kIdxFiles) +
                    " (each plain or gzipped as name.gz)");
  }
  const std::string dir = default_dir ? kDefaultFashionMnistDir : spec.data_dir;
  const std::string hint = default_dir ? "; install it with: apt-get install dataset-fashion-mnist"
                                         " (or scripts/install-deps.sh)"
                                       : "";
  const auto paths = locate(spec.name, dir, kIdxFiles, hint);
  DatasetPair pair;
  pair.name = spec.name;
  pair.train = detail::read_idx(paths[0], paths[1], kIdxClasses);
  pair.test = detail::read_idx(paths[2], paths[3], kIdxClasses);
  const auto& a = pair.train.images;
  const auto& b = pair.test.images;
  if (a.size(2) != b.size(2) || a.size(3) != b.size(3)) {
    detail::fail(paths[2], "images are " + std::to_string(b.size(2)) + "x" +
                               std::to_string(b.size(3)) + " but the training images are " +
                               std::to_string(a.size(2)) + "x" + std::to_string(a.size(3)));
  }
  // Normalisation statistics computed from the training images (not the usual rounded
  // constants: for Fashion-MNIST this gives 0.2860 / 0.3530, for MNIST 0.1307 / 0.3081).
  detail::channel_stats(pair.train.images, &pair.mean, &pair.std);
  return pair;
}

// CIFAR-10 / CIFAR-100 binary version, files directly in data_dir or in the official subfolder.
DatasetPair load_cifar_pair(const DatasetSpec& spec) {
  const bool ten = spec.name == "cifar10";
  const std::string subfolder = ten ? "cifar-10-batches-bin" : "cifar-100-binary";
  const std::vector<std::string> train =
      ten ? std::vector<std::string>{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                     "data_batch_4.bin", "data_batch_5.bin"}
          : std::vector<std::string>{"train.bin"};
  const std::string test = ten ? "test_batch.bin" : "test.bin";
  std::vector<std::string> names = train;
  names.push_back(test);
  const std::string binary = ten ? "the CIFAR-10 binary version" : "the CIFAR-100 binary version";
  if (spec.data_dir.empty()) {
    throw DataError(spec.name + " needs --data-dir (data-dir in a config file): a folder holding " + join_words(names) + " (" +
                    binary + "), directly or in " + subfolder + "/");
  }
  const std::string nested = detail::join_path(spec.data_dir, subfolder);
  const bool use_nested =
      find_file(spec.data_dir, names[0]).empty() && detail::is_directory(nested);
  const auto paths = locate(spec.name, use_nested ? nested : spec.data_dir, names,
                            "; " + binary + " is expected in data_dir or in data_dir/" + subfolder);
  const auto layout = ten ? detail::cifar10_layout() : detail::cifar100_layout();
  DatasetPair pair;
  pair.name = spec.name;
  pair.train = detail::read_cifar(std::vector<std::string>(paths.begin(), paths.end() - 1), layout);
  pair.test = detail::read_cifar({paths.back()}, layout);
  // The paper's code uses the CIFAR-10 statistics for both datasets.
  pair.mean = {0.4914, 0.4822, 0.4465};
  pair.std = {0.2023, 0.1994, 0.2010};
  pair.augment_by_default = true;
  return pair;
}

void require_at_least(const char* field, int64_t value, int64_t minimum) {
  if (value >= minimum) return;
  throw std::invalid_argument("synthetic dataset: invalid " + std::string(field) + " " +
                              std::to_string(value) + " (expected >= " + std::to_string(minimum) +
                              ")");
}

// n samples: the prototype of a uniform random class plus Gaussian noise, rounded and
// clamped to bytes.
Dataset draw_synthetic(const at::Tensor& prototypes, int64_t n, at::Generator& generator) {
  constexpr double kNoiseStd = 64;  // on the 0..255 scale
  const int64_t classes = prototypes.size(0);
  Dataset set;
  set.num_classes = classes;
  set.labels = at::randint(0, classes, {n}, generator, at::kLong);
  std::vector<int64_t> shape = prototypes.sizes().vec();
  shape[0] = n;
  const at::Tensor noise = at::randn(shape, generator, at::kFloat);
  set.images = prototypes.index_select(0, set.labels)
                   .add(noise, kNoiseStd)
                   .round()
                   .clamp(0, 255)
                   .to(at::kByte);
  return set;
}

// Synthetic: each class has a fixed prototype image of uniform random bytes; a sample is its
// class's prototype plus Gaussian noise. Train then test are drawn from one private generator
// seeded with spec.seed, so the same seed gives the same data and both splits share the
// prototypes (the same distribution).
DatasetPair make_synthetic(const DatasetSpec& spec) {
  require_at_least("synthetic_train", spec.synthetic_train, 1);
  require_at_least("synthetic_test", spec.synthetic_test, 0);
  require_at_least("synthetic_channels", spec.synthetic_channels, 1);
  require_at_least("synthetic_size", spec.synthetic_size, 1);
  require_at_least("synthetic_classes", spec.synthetic_classes, 1);
  // The largest float tensor made below (prototypes or noise): at most 2^30 values (4 GiB),
  // checked before anything is allocated.
  constexpr int64_t kMaxValues = int64_t{1} << 30;
  int64_t elements = 0;
  const int64_t largest =
      std::max({spec.synthetic_train, spec.synthetic_test, spec.synthetic_classes});
  if (__builtin_mul_overflow(largest, spec.synthetic_channels, &elements) ||
      __builtin_mul_overflow(elements, spec.synthetic_size, &elements) ||
      __builtin_mul_overflow(elements, spec.synthetic_size, &elements) || elements > kMaxValues) {
    const char* which = largest == spec.synthetic_classes ? "--synthetic-classes"
                        : largest == spec.synthetic_train ? "--synthetic-train"
                                                          : "--synthetic-test";
    throw std::invalid_argument(
        "synthetic dataset too large: " + std::string(which) + " " + std::to_string(largest) +
        " images of " + std::to_string(spec.synthetic_channels) + "x" +
        std::to_string(spec.synthetic_size) + "x" + std::to_string(spec.synthetic_size) +
        " (--synthetic-channels, --synthetic-size) exceed 2^30 values; make one of them smaller");
  }
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(spec.seed);
  const at::Tensor prototypes = at::randint(
      0, 256,
      {spec.synthetic_classes, spec.synthetic_channels, spec.synthetic_size, spec.synthetic_size},
      generator, at::kFloat);
  DatasetPair pair;
  pair.name = "synthetic";
  pair.train = draw_synthetic(prototypes, spec.synthetic_train, generator);
  pair.test = draw_synthetic(prototypes, spec.synthetic_test, generator);
  detail::channel_stats(pair.train.images, &pair.mean, &pair.std);
  return pair;
}

}  // namespace

std::vector<std::string> dataset_names() {
  return {"fashion-mnist", "mnist", "kmnist", "cifar10", "cifar100", "synthetic"};
}

Dataset balanced_subset(const Dataset& set, int64_t n, uint64_t seed) {
  const int64_t classes = set.num_classes, size = set.size();
  if (n < classes || n > size) {
    throw std::invalid_argument("invalid training subset size " + std::to_string(n) +
                                " (expected between the number of classes, " +
                                std::to_string(classes) + ", and the training set's size, " +
                                std::to_string(size) + ")");
  }
  // Each class's samples in the order of their random word (a seeded shuffle that depends on
  // nothing but the seed and the index), then the classes take turns: the first n/K of each,
  // and so on, so a class short of samples leaves its share to the others.
  const auto labels = set.labels.contiguous();
  const int64_t* label = labels.data_ptr<int64_t>();
  std::vector<std::vector<std::pair<uint64_t, int64_t>>> by_class(classes);
  for (int64_t i = 0; i < size; ++i) {
    by_class[label[i]].emplace_back(random_word(seed, kSubsetStream, 0, i), i);
  }
  for (auto& members : by_class) std::sort(members.begin(), members.end());
  std::vector<int64_t> chosen;
  for (size_t rank = 0; static_cast<int64_t>(chosen.size()) < n; ++rank) {
    for (int64_t c = 0; c < classes && static_cast<int64_t>(chosen.size()) < n; ++c) {
      if (rank < by_class[c].size()) chosen.push_back(by_class[c][rank].second);
    }
  }
  std::sort(chosen.begin(), chosen.end());  // the set's own order
  auto index = at::empty({n}, at::kLong);
  std::copy(chosen.begin(), chosen.end(), index.data_ptr<int64_t>());
  Dataset subset;
  subset.images = set.images.index_select(0, index).contiguous();
  subset.labels = set.labels.index_select(0, index).contiguous();
  subset.num_classes = classes;
  return subset;
}

ValidationSplit split_validation(const Dataset& set, int64_t n, uint64_t seed) {
  const int64_t classes = set.num_classes, size = set.size();
  if (n <= 0 || n >= size) {
    throw std::invalid_argument("invalid validation split " + std::to_string(n) +
                                " (expected 1 .. the training set's size - 1, " +
                                std::to_string(size - 1) + ")");
  }
  const auto labels = set.labels.contiguous();
  const int64_t* label = labels.data_ptr<int64_t>();
  std::vector<std::vector<std::pair<uint64_t, int64_t>>> by_class(classes);
  for (int64_t i = 0; i < size; ++i) {
    by_class[label[i]].emplace_back(random_word(seed, kValidationStream, 0, i), i);
  }
  // Stratified: class c holds out floor(n * size_c / size), then the largest remainders one
  // more each until n are held out.
  std::vector<int64_t> share(classes);
  std::vector<std::pair<int64_t, int64_t>> remainders;  // (-remainder, class)
  int64_t given = 0;
  for (int64_t c = 0; c < classes; ++c) {
    const int64_t members = static_cast<int64_t>(by_class[c].size());
    share[c] = n * members / size;
    given += share[c];
    remainders.emplace_back(-(n * members % size), c);
  }
  std::sort(remainders.begin(), remainders.end());
  for (size_t k = 0; given < n; ++k, ++given) ++share[remainders[k].second];
  std::vector<char> held(size, 0);
  for (int64_t c = 0; c < classes; ++c) {
    auto& members = by_class[c];
    std::sort(members.begin(), members.end());  // a seeded shuffle of the class
    for (int64_t k = 0; k < share[c]; ++k) held[members[k].second] = 1;
  }
  std::vector<int64_t> kept_index, held_index;
  for (int64_t i = 0; i < size; ++i) (held[i] ? held_index : kept_index).push_back(i);
  auto part = [&](const std::vector<int64_t>& chosen) {
    auto index = at::empty({static_cast<int64_t>(chosen.size())}, at::kLong);
    std::copy(chosen.begin(), chosen.end(), index.data_ptr<int64_t>());
    Dataset out;
    out.images = set.images.index_select(0, index).contiguous();
    out.labels = set.labels.index_select(0, index).contiguous();
    out.num_classes = classes;
    return out;
  };
  return {part(kept_index), part(held_index)};
}

DatasetPair load_dataset(const DatasetSpec& spec) {
  if (spec.name == "fashion-mnist" || spec.name == "mnist" || spec.name == "kmnist") {
    return load_idx_pair(spec);
  }
  if (spec.name == "cifar10" || spec.name == "cifar100") return load_cifar_pair(spec);
  if (spec.name == "synthetic") return make_synthetic(spec);
  throw std::invalid_argument("unknown dataset '" + spec.name + "' (expected one of " +
                              join_words(dataset_names()) + ")");
}

}  // namespace data
}  // namespace swd
