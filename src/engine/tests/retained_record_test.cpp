#include "engine/retained_record.hpp"

#include <gtest/gtest.h>

namespace metersync::engine {
namespace {

const std::string kPrefix = R"({"schema":{"type":"struct","name":"x"},"payload":)";

TEST(RetainedRecord, KeepsOnlyWhatFollowsTheSharedPrefixAndGivesTheValueBackWhole) {
  auto prefix = std::make_shared<const std::string>(kPrefix);
  const std::string value = kPrefix + R"({"op":"c","after":{"id":1}}})";
  RetainedRecord record(std::string_view("{\"id\":1}"), value, prefix);
  EXPECT_TRUE(record.shares_prefix());
  EXPECT_EQ(record.value(), value);
  EXPECT_EQ(record.key(), "{\"id\":1}");
  EXPECT_LT(record.held_bytes(), value.size() - kPrefix.size() + 64);
}

TEST(RetainedRecord, KeepsAValueWholeWhenItDoesNotBeginWithThePrefix) {
  auto prefix = std::make_shared<const std::string>(kPrefix);
  // The same schema with a space: another byte sequence, so nothing is shared.
  const std::string value = R"({"schema": {"type":"struct","name":"x"},"payload":{"op":"c"}})";
  RetainedRecord record(std::nullopt, value, prefix);
  EXPECT_FALSE(record.shares_prefix());
  EXPECT_EQ(record.value(), value);
  EXPECT_EQ(record.key(), std::nullopt);
  EXPECT_GE(record.held_bytes(), value.size());
}

TEST(RetainedRecord, NullValuesAndNoPrefixStayAsTheyCame) {
  RetainedRecord tombstone(std::string_view("k"), std::nullopt, nullptr);
  EXPECT_EQ(tombstone.value(), std::nullopt);
  EXPECT_EQ(tombstone.key(), "k");
  RetainedRecord plain(std::nullopt, std::string_view("not json at all"), nullptr);
  EXPECT_EQ(plain.value(), "not json at all");
  RetainedRecord empty;
  EXPECT_EQ(empty.value(), std::nullopt);
  EXPECT_EQ(empty.key(), std::nullopt);
}

TEST(RetainedRecord, AValueEqualToThePrefixAloneKeepsAnEmptyRest) {
  auto prefix = std::make_shared<const std::string>(kPrefix);
  RetainedRecord record(std::nullopt, kPrefix, prefix);
  EXPECT_EQ(record.value(), kPrefix);
}

}  // namespace
}  // namespace metersync::engine
