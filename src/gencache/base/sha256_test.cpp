#include "gencache/base/sha256.hpp"

#include <gtest/gtest.h>

#include <string>

namespace gencache::base {
namespace {

TEST(Sha256Hex, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256HasherTest, PiecesHashLikeTheWhole) {
  const std::string data(100'000, 'x');
  Sha256Hasher hasher;
  for (std::size_t at = 0; at < data.size(); at += 4096) {
    hasher.Update(std::string_view(data).substr(at, 4096));
  }
  EXPECT_EQ(hasher.FinishHex(), Sha256Hex(data));
}

TEST(Sha256HasherTest, EmptyInputHasTheKnownDigest) {
  Sha256Hasher hasher;
  EXPECT_EQ(hasher.FinishHex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace gencache::base
