#pragma once
// Counter-based randomness for the data layer: any sample's random word is a hash of (seed,
// stream, epoch, index), so it is computed on its own, by any thread, in any order.

#include <cstdint>

namespace swd {
namespace data {

// splitmix64's output function (Steele, Lea, Flood 2014): a bijective 64-bit mix.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// What a random word is for; part of the hash so the streams are independent.
enum Stream : uint64_t { kOrderStream = 1, kAugmentStream = 2, kSubsetStream = 3, kValidationStream = 4 };

inline uint64_t random_word(uint64_t seed, Stream stream, int64_t epoch, int64_t index) {
  uint64_t h = mix64(seed);
  h = mix64(h ^ stream);
  h = mix64(h ^ static_cast<uint64_t>(epoch));
  return mix64(h ^ static_cast<uint64_t>(index));
}

}  // namespace data
}  // namespace swd
