// Dataset readers on small files written here in the exact formats (IDX plain and gzipped,
// CIFAR-10/100 binary), the real Fashion-MNIST when installed, the synthetic dataset, and the
// batch loader: order, determinism, resume, sharding, augmentation, normalisation, shutdown.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "swd/data/dataset.h"
#include "swd/data/loader.h"
#include "test_util.h"

namespace sd = swd::data;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "swd_data_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

void write_plain(const std::string& path, const Bytes& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(gz);
}

// An IDX file: big-endian magic and sizes, then the bytes.
Bytes idx(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& values) {
  Bytes out;
  auto put = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
  };
  put(magic);
  for (uint32_t d : dims) put(d);
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

Bytes pattern(size_t n, int salt) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((i * 31 + salt * 17) % 256);
  return out;
}

// n images of 4x3 and labels i % 10, IDX files named `prefix`-images-idx3-ubyte etc.
void write_idx_split(const TempDir& dir, const std::string& prefix, uint32_t n, bool gz, int salt) {
  Bytes labels(n);
  for (uint32_t i = 0; i < n; ++i) labels[i] = i % 10;
  auto write = gz ? write_gz : write_plain;
  const std::string suffix = gz ? ".gz" : "";
  write(dir / (prefix + "-images-idx3-ubyte" + suffix),
        idx(0x803, {n, 4, 3}, pattern(n * 12, salt)));
  write(dir / (prefix + "-labels-idx1-ubyte" + suffix), idx(0x801, {n}, labels));
}

using swd_test::error_of;


sd::DatasetPair load(const std::string& name, const std::string& dir) {
  sd::DatasetSpec spec;
  spec.name = name;
  spec.data_dir = dir;
  return sd::load_dataset(spec);
}

// A DataError from loading `name` from `dir`, which must name `file`.
std::string data_error(const std::string& name, const std::string& dir, const std::string& file) {
  try {
    load(name, dir);
  } catch (const sd::DataError& e) {
    const std::string message = e.what();
    EXPECT_CONTAINS(message, file);
    return message;
  }
  ADD_FAILURE() << "no DataError loading " << name << " from " << dir;
  return "";
}

}  // namespace

TEST(DataIdx, ReadsPlainAndGzippedFiles) {
  TempDir dir;
  write_idx_split(dir, "train", 7, /*gz=*/true, 1);
  write_idx_split(dir, "t10k", 3, /*gz=*/false, 2);
  const auto pair = load("mnist", dir.str());
  ASSERT_EQ(pair.train.images.sizes(), (std::vector<int64_t>{7, 1, 4, 3}));
  ASSERT_EQ(pair.test.images.sizes(), (std::vector<int64_t>{3, 1, 4, 3}));
  EXPECT_EQ(pair.train.num_classes, 10);
  const Bytes train_pixels = pattern(7 * 12, 1);
  const auto expected = at::tensor(std::vector<int64_t>(train_pixels.begin(), train_pixels.end()));
  EXPECT_TRUE(pair.train.images.flatten().to(at::kLong).equal(expected));
  EXPECT_TRUE(pair.test.labels.equal(at::arange(3, at::kLong)));
  EXPECT_EQ(pair.train.labels[6].item<int64_t>(), 6);
  // Mean and std from the training pixels, on the [0, 1] scale.
  const auto x = pair.train.images.to(at::kDouble) / 255;
  ASSERT_EQ(pair.mean.size(), 1u);
  EXPECT_NEAR(pair.mean[0], x.mean().item<double>(), 1e-12);
  EXPECT_NEAR(pair.std[0], x.std(/*unbiased=*/false).item<double>(), 1e-12);
  EXPECT_FALSE(pair.augment_by_default);
}

TEST(DataIdx, RejectsTruncatedFilesNamingThem) {
  TempDir dir;
  write_idx_split(dir, "train", 5, false, 1);
  write_idx_split(dir, "t10k", 2, false, 2);
  Bytes images = idx(0x803, {5, 4, 3}, pattern(5 * 12 - 1, 1));  // one pixel short
  write_plain(dir / "train-images-idx3-ubyte", images);
  auto message = data_error("kmnist", dir.str(), dir / "train-images-idx3-ubyte");
  EXPECT_CONTAINS(message, "truncated");
  EXPECT_CONTAINS(message, "5 images of 4x3");
  write_plain(dir / "train-images-idx3-ubyte", Bytes{0, 0, 8, 3, 0, 0});  // inside the header
  EXPECT_CONTAINS(data_error("kmnist", dir.str(), "train-images-idx3-ubyte"), "truncated");
  write_plain(dir / "train-images-idx3-ubyte", idx(0x803, {5, 4, 3}, pattern(5 * 12 + 1, 1)));
  EXPECT_CONTAINS(data_error("kmnist", dir.str(), "train-images-idx3-ubyte"), "holds more");
}

TEST(DataIdx, RejectsCorruptGzip) {
  TempDir dir;
  write_idx_split(dir, "train", 50, true, 1);
  write_idx_split(dir, "t10k", 2, true, 2);
  const std::string path = dir / "train-images-idx3-ubyte.gz";
  fs::resize_file(path, fs::file_size(path) / 2);
  EXPECT_CONTAINS(data_error("mnist", dir.str(), path), "gzip");
}

TEST(DataIdx, RejectsWrongMagic) {
  TempDir dir;
  write_idx_split(dir, "train", 5, false, 1);
  write_idx_split(dir, "t10k", 2, false, 2);
  write_plain(dir / "t10k-labels-idx1-ubyte", idx(0x803, {2}, Bytes{0, 1}));
  const auto message = data_error("mnist", dir.str(), dir / "t10k-labels-idx1-ubyte");
  EXPECT_CONTAINS(message, "magic");
  EXPECT_CONTAINS(message, "0x00000801");
  // A .gz name on content that is not gzip: read as it is, and said so when it is wrong.
  fs::remove(dir / "t10k-labels-idx1-ubyte");
  write_plain(dir / "t10k-labels-idx1-ubyte.gz", idx(0x801, {2}, Bytes{0, 1}));
  EXPECT_EQ(load("mnist", dir.str()).test.size(), 2);
  write_plain(dir / "t10k-labels-idx1-ubyte.gz", Bytes{0x1f, 0x9d, 8, 1, 0, 0, 0, 2, 0, 1});
  EXPECT_CONTAINS(data_error("mnist", dir.str(), "t10k-labels-idx1-ubyte.gz"), "gzip magic");
}

TEST(DataIdx, RejectsImageAndLabelCountMismatch) {
  TempDir dir;
  write_idx_split(dir, "train", 5, false, 1);
  write_idx_split(dir, "t10k", 2, false, 2);
  write_plain(dir / "train-labels-idx1-ubyte", idx(0x801, {4}, Bytes{0, 1, 2, 3}));
  const auto message = data_error("mnist", dir.str(), dir / "train-labels-idx1-ubyte");
  EXPECT_CONTAINS(message, "4 labels");
  EXPECT_CONTAINS(message, "5 images");
}

TEST(DataIdx, RejectsLabelOutOfRange) {
  TempDir dir;
  write_idx_split(dir, "train", 5, false, 1);
  write_idx_split(dir, "t10k", 2, true, 2);
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx(0x801, {2}, Bytes{3, 10}));
  const auto message = data_error("mnist", dir.str(), dir / "t10k-labels-idx1-ubyte.gz");
  EXPECT_CONTAINS(message, "label 10 at index 1");
}

TEST(DataIdx, MissingFilesAreListed) {
  TempDir dir;
  write_idx_split(dir, "train", 5, false, 1);
  auto message = data_error("mnist", dir.str(), dir.str());
  EXPECT_CONTAINS(message, "t10k-images-idx3-ubyte");
  EXPECT_CONTAINS(message, "t10k-labels-idx1-ubyte");
  message = data_error("kmnist", "", "train-images-idx3-ubyte");
  EXPECT_CONTAINS(message, "--data-dir");
  message = data_error("fashion-mnist", dir / "nowhere", dir / "nowhere");
  EXPECT_CONTAINS(message, "does not exist");
}

TEST(DataIdx, RealFashionMnist) {
  if (!fs::is_directory(sd::kDefaultFashionMnistDir)) {
    GTEST_SKIP() << sd::kDefaultFashionMnistDir
                 << " is absent (apt-get install dataset-fashion-mnist)";
  }
  sd::DatasetSpec spec;  // the default: fashion-mnist from its default folder
  const auto pair = sd::load_dataset(spec);
  EXPECT_EQ(pair.name, "fashion-mnist");
  EXPECT_EQ(pair.train.size(), 60000);
  EXPECT_EQ(pair.test.size(), 10000);
  EXPECT_EQ(pair.train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(pair.train.num_classes, 10);
  EXPECT_EQ(pair.test.labels.max().item<int64_t>(), 9);
  EXPECT_EQ(pair.train.labels.bincount().min().item<int64_t>(), 6000);  // balanced classes
  EXPECT_NEAR(pair.mean[0], 0.2860, 5e-4);
  EXPECT_NEAR(pair.std[0], 0.3530, 5e-4);
}

// CIFAR records: label byte(s) then 3072 pixel bytes; sample i has labels `label(i)`.
Bytes cifar_records(int n, int label_bytes, int first, const std::function<Bytes(int)>& label) {
  Bytes out;
  for (int i = 0; i < n; ++i) {
    const Bytes l = label(first + i);
    out.insert(out.end(), l.begin(), l.begin() + label_bytes);
    const Bytes pixels = pattern(3072, first + i);
    out.insert(out.end(), pixels.begin(), pixels.end());
  }
  return out;
}

Bytes cifar10_label(int i) { return {static_cast<uint8_t>(i % 10)}; }
Bytes cifar100_label(int i) {
  return {static_cast<uint8_t>(i % 20), static_cast<uint8_t>((i * 7) % 100)};
}

// Batches of 2, 3, 1, 2, 2 records and a test batch of 3.
void write_cifar10(const std::string& dir) {
  const int sizes[] = {2, 3, 1, 2, 2};
  int first = 0;
  for (int b = 0; b < 5; ++b) {
    write_plain(dir + "/data_batch_" + std::to_string(b + 1) + ".bin",
                cifar_records(sizes[b], 1, first, cifar10_label));
    first += sizes[b];
  }
  write_plain(dir + "/test_batch.bin", cifar_records(3, 1, 100, cifar10_label));
}

void expect_cifar_samples(const sd::Dataset& set, int first,
                          const std::function<int64_t(int)>& label) {
  ASSERT_EQ(set.images.dim(), 4);
  for (int64_t i = 0; i < set.size(); ++i) {
    const Bytes pixels = pattern(3072, first + i);
    const auto expected =
        at::tensor(std::vector<int64_t>(pixels.begin(), pixels.end())).view({3, 32, 32});
    EXPECT_TRUE(set.images[i].to(at::kLong).equal(expected)) << "sample " << i;
    EXPECT_EQ(set.labels[i].item<int64_t>(), label(first + i)) << "sample " << i;
  }
}

TEST(DataCifar, ReadsCifar10FromDataDirAndOfficialSubfolder) {
  for (const std::string sub : {"", "/cifar-10-batches-bin"}) {
    TempDir dir;
    write_cifar10(dir.str() + sub);
    const auto pair = load("cifar10", dir.str());
    ASSERT_EQ(pair.train.size(), 10);
    ASSERT_EQ(pair.test.size(), 3);
    EXPECT_EQ(pair.train.num_classes, 10);
    expect_cifar_samples(pair.train, 0, [](int i) { return i % 10; });
    expect_cifar_samples(pair.test, 100, [](int i) { return i % 10; });
    EXPECT_EQ(pair.mean, (std::vector<double>{0.4914, 0.4822, 0.4465}));
    EXPECT_EQ(pair.std, (std::vector<double>{0.2023, 0.1994, 0.2010}));
    EXPECT_TRUE(pair.augment_by_default);
  }
}

TEST(DataCifar, ReadsCifar100FineLabels) {
  for (const std::string sub : {"", "/cifar-100-binary"}) {
    TempDir dir;
    write_plain(dir.str() + sub + "/train.bin", cifar_records(6, 2, 0, cifar100_label));
    write_plain(dir.str() + sub + "/test.bin", cifar_records(2, 2, 50, cifar100_label));
    const auto pair = load("cifar100", dir.str());
    EXPECT_EQ(pair.train.num_classes, 100);
    ASSERT_EQ(pair.train.size(), 6);
    expect_cifar_samples(pair.train, 0, [](int i) { return (i * 7) % 100; });
    expect_cifar_samples(pair.test, 50, [](int i) { return (i * 7) % 100; });
  }
}

TEST(DataCifar, RejectsTruncatedRecordAndBadLabels) {
  TempDir dir;
  write_cifar10(dir.str());
  Bytes bytes = cifar_records(2, 1, 0, cifar10_label);
  bytes.pop_back();
  write_plain(dir / "data_batch_3.bin", bytes);
  EXPECT_CONTAINS(data_error("cifar10", dir.str(), dir / "data_batch_3.bin"), "3073-byte record");
  write_plain(dir / "data_batch_3.bin", Bytes{});
  EXPECT_CONTAINS(data_error("cifar10", dir.str(), dir / "data_batch_3.bin"), "empty");
  write_plain(dir / "data_batch_3.bin", cifar_records(3, 1, 8, [](int) { return Bytes{10}; }));
  EXPECT_CONTAINS(data_error("cifar10", dir.str(), dir / "data_batch_3.bin"), "record 0: label 10");

  TempDir hundred;
  write_plain(hundred / "train.bin", cifar_records(3, 2, 0, [](int i) {
                return Bytes{1, static_cast<uint8_t>(i == 2 ? 100 : 5)};
              }));
  write_plain(hundred / "test.bin", cifar_records(2, 2, 0, cifar100_label));
  EXPECT_CONTAINS(data_error("cifar100", hundred.str(), hundred / "train.bin"),
                  "record 2: fine label 100");
  write_plain(hundred / "train.bin", cifar_records(1, 2, 0, [](int) { return Bytes{20, 5}; }));
  EXPECT_CONTAINS(data_error("cifar100", hundred.str(), hundred / "train.bin"), "coarse label 20");
}

TEST(DataCifar, MissingFilesAreListed) {
  TempDir dir;
  write_cifar10(dir.str());
  fs::remove(dir / "test_batch.bin");
  EXPECT_CONTAINS(data_error("cifar10", dir.str(), "test_batch.bin"), "cifar-10-batches-bin");
  EXPECT_CONTAINS(data_error("cifar100", "", "train.bin"), "--data-dir");
}

TEST(DataNames, UnknownNameListsValidOnes) {
  EXPECT_EQ(sd::dataset_names().size(), 6u);
  try {
    load("imagenet", "");
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_CONTAINS(message, "imagenet");
    for (const auto& name : sd::dataset_names()) EXPECT_CONTAINS(message, name);
  }
}

sd::DatasetPair synthetic(uint64_t seed, int64_t channels = 1) {
  sd::DatasetSpec spec;
  spec.name = "synthetic";
  spec.seed = seed;
  spec.synthetic_train = 300;
  spec.synthetic_test = 100;
  spec.synthetic_channels = channels;
  spec.synthetic_size = 8;
  spec.synthetic_classes = 5;
  return sd::load_dataset(spec);
}

TEST(DataSynthetic, DeterministicPerSeed) {
  const auto a = synthetic(7, 3), b = synthetic(7, 3), c = synthetic(8, 3);
  EXPECT_EQ(a.train.images.sizes(), (std::vector<int64_t>{300, 3, 8, 8}));
  EXPECT_EQ(a.test.size(), 100);
  EXPECT_EQ(a.train.num_classes, 5);
  EXPECT_EQ(a.mean.size(), 3u);
  EXPECT_TRUE(a.train.images.equal(b.train.images));
  EXPECT_TRUE(a.test.labels.equal(b.test.labels));
  EXPECT_FALSE(a.train.images.equal(c.train.images));
  EXPECT_LT(a.train.labels.max().item<int64_t>(), 5);
  EXPECT_EQ(a.train.labels.min().item<int64_t>(), 0);
}

TEST(DataSynthetic, IsLearnable) {
  // Nearest class mean of the training set classifies most of the test set.
  const auto pair = synthetic(3);
  const auto x = pair.train.images.flatten(1).to(at::kFloat);
  std::vector<at::Tensor> means;
  for (int64_t k = 0; k < 5; ++k)
    means.push_back(x.index_select(0, (pair.train.labels == k).nonzero().flatten()).mean(0));
  const auto distances = at::cdist(pair.test.images.flatten(1).to(at::kFloat), at::stack(means));
  const double accuracy =
      distances.argmin(1).eq(pair.test.labels).to(at::kDouble).mean().item<double>();
  EXPECT_GT(accuracy, 0.9);
}

TEST(DataSynthetic, RejectsBadSizesNamingThem) {
  sd::DatasetSpec spec;
  spec.name = "synthetic";
  spec.synthetic_classes = 0;
  const auto message = error_of([&] { sd::load_dataset(spec); });
  EXPECT_CONTAINS(message, "synthetic_classes 0");
}

TEST(DataSubset, ClassBalancedDeterministicAndIndependentOfTheTrainingSeed) {
  const auto pair = synthetic(3);  // 300 samples, 5 classes
  const auto a = sd::balanced_subset(pair.train, 52, 11);
  ASSERT_EQ(a.size(), 52);
  EXPECT_EQ(a.num_classes, 5);
  const auto counts = at::bincount(a.labels, {}, 5);
  for (int64_t c = 0; c < 5; ++c) {
    // 52 = 5 x 10 + 2: the first two classes get 11, the others 10.
    EXPECT_EQ(counts[c].item<int64_t>(), c < 2 ? 11 : 10) << "class " << c;
  }
  // The same (set, n, seed): the same samples; another subset seed: other samples.
  const auto b = sd::balanced_subset(pair.train, 52, 11);
  EXPECT_TRUE(at::equal(a.images, b.images));
  EXPECT_TRUE(at::equal(a.labels, b.labels));
  const auto c = sd::balanced_subset(pair.train, 52, 12);
  EXPECT_FALSE(at::equal(a.images, c.images));
  // Every chosen sample is one of the set's, with its own label.
  const auto d = sd::balanced_subset(pair.train, pair.train.size(), 5);
  EXPECT_TRUE(at::equal(d.images, pair.train.images));
  EXPECT_TRUE(at::equal(d.labels, pair.train.labels));
}

TEST(DataSubset, RejectsSizesOutsideClassesToSetSize) {
  const auto pair = synthetic(3);
  EXPECT_CONTAINS(error_of([&] { sd::balanced_subset(pair.train, 4, 0); }),
                  "invalid training subset size 4 (expected between the number of classes, 5, "
                  "and the training set's size, 300)");
  EXPECT_THROW(sd::balanced_subset(pair.train, 301, 0), std::invalid_argument);
  EXPECT_NO_THROW(sd::balanced_subset(pair.train, 5, 0));
}

namespace {

/// 100 samples of classes 0, 1, 2 (50, 30 and 20 of them, interleaved); sample i's pixels
/// hold i, so a split's samples can be named.
sd::Dataset unequal_classes() {
  sd::Dataset set;
  set.images = at::arange(100, at::kByte).view({100, 1, 1, 1}).expand({100, 1, 2, 2}).contiguous();
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 100; ++i) labels.push_back(i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2);
  set.labels = at::tensor(labels, at::kLong);
  set.num_classes = 3;
  return set;
}

std::vector<int64_t> ids(const sd::Dataset& set) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < set.size(); ++i) out.push_back(set.images[i][0][0][0].item<int64_t>());
  return out;
}

TEST(DataValidation, StratifiedDisjointDeterministicAndInTheSetsOrder) {
  const auto set = unequal_classes();
  const auto split = sd::split_validation(set, 7, 3);
  ASSERT_EQ(split.validation.size(), 7);
  ASSERT_EQ(split.train.size(), 93);
  // 7 x (0.5, 0.3, 0.2) = 3.5, 2.1, 1.4: floors 3, 2, 1, and the largest remainder (class 0) one more.
  const auto counts = at::bincount(split.validation.labels, {}, 3);
  EXPECT_EQ(counts[0].item<int64_t>(), 4);
  EXPECT_EQ(counts[1].item<int64_t>(), 2);
  EXPECT_EQ(counts[2].item<int64_t>(), 1);
  // Every sample in exactly one part, with its own label, each part in the set's order.
  auto held = ids(split.validation), kept = ids(split.train);
  EXPECT_TRUE(std::is_sorted(held.begin(), held.end()));
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
  std::vector<int64_t> all = held;
  all.insert(all.end(), kept.begin(), kept.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(all[i], i);
  for (int64_t k = 0; k < split.validation.size(); ++k) {
    EXPECT_EQ(split.validation.labels[k].item<int64_t>(), set.labels[held[k]].item<int64_t>());
  }
  // The same (set, n, seed): the same split; another seed: another.
  EXPECT_EQ(ids(sd::split_validation(set, 7, 3).validation), held);
  EXPECT_NE(ids(sd::split_validation(set, 7, 4).validation), held);
  for (int64_t bad : {0, -1, 100}) {
    EXPECT_CONTAINS(error_of([&] { sd::split_validation(set, bad, 0); }),
                    "invalid validation split " + std::to_string(bad));
  }
}

}  // namespace
