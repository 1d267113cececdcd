#include "sink/statement_batch.hpp"

#include <gtest/gtest.h>

namespace metersync::sink {
namespace {

struct Sent {
  std::string sql;
  std::size_t params;
};

TEST(StatementBatch, JoinsPiecesIntoOneRequestUntilFlushed) {
  std::vector<Sent> sent;
  StatementBatch batch([&](const std::string& sql, const std::vector<SqlParam>& params) {
    sent.push_back({sql, params.size()});
  }, 2100);
  batch.add("BEGIN TRANSACTION;");
  batch.add("EXEC x ?;", {SqlParam::ascii("a")});
  batch.add("");  // nothing to send adds nothing
  batch.add("INSERT y VALUES (?, ?);", {SqlParam::integer(1), SqlParam::integer(2)});
  EXPECT_TRUE(sent.empty());
  batch.flush();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].sql, "BEGIN TRANSACTION;\nEXEC x ?;\nINSERT y VALUES (?, ?);");
  EXPECT_EQ(sent[0].params, 3u);
  batch.flush();  // empty: no request
  EXPECT_EQ(batch.requests(), 1u);
}

TEST(StatementBatch, SendsWhatIsPendingBeforeAPieceThatWouldPassTheLimit) {
  std::vector<Sent> sent;
  StatementBatch batch([&](const std::string& sql, const std::vector<SqlParam>& params) {
    sent.push_back({sql, params.size()});
  }, 4);
  batch.add("a ?, ?, ?;", std::vector<SqlParam>(3, SqlParam::integer(0)));
  batch.add("b ?, ?;", std::vector<SqlParam>(2, SqlParam::integer(0)));  // 5 > 4
  batch.add("c;");
  // A piece over the limit on its own still goes, alone (the server decides).
  batch.add("d;", std::vector<SqlParam>(5, SqlParam::integer(0)));
  batch.flush();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].sql, "a ?, ?, ?;");
  EXPECT_EQ(sent[1].sql, "b ?, ?;\nc;");
  EXPECT_EQ(sent[2].sql, "d;");
  EXPECT_EQ(sent[2].params, 5u);
}

TEST(StatementBatch, AFailedSendLeavesNothingPending) {
  int calls = 0;
  StatementBatch batch([&](const std::string&, const std::vector<SqlParam>&) {
    ++calls;
    throw std::runtime_error("link gone");
  }, 10);
  batch.add("a;");
  EXPECT_THROW(batch.flush(), std::runtime_error);
  EXPECT_TRUE(batch.empty());
  batch.flush();
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace metersync::sink
