// The wire contract between the dispatcher (src/dispatch, which writes batches) and an
// endpoint (src/endpoint, which reads them): the names both ends must spell the same.
// The meaning of each field is in docs/endpoints.md ("What is sent").
#pragma once

#include <array>
#include <string_view>

namespace metersync::wire {

// Request headers.
inline constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";  // = batch_id
// Standard Webhooks (webhook_signature.hpp): webhook-id is the batch_id too.
inline constexpr std::string_view kWebhookIdHeader = "webhook-id";
inline constexpr std::string_view kWebhookTimestampHeader = "webhook-timestamp";
inline constexpr std::string_view kWebhookSignatureHeader = "webhook-signature";
inline constexpr std::string_view kWebhookSignatureVersion = "v1,";
inline constexpr std::string_view kWebhookSecretPrefix = "whsec_";
// The legacy signature (deprecated: no timestamp, so no replay protection).
inline constexpr std::string_view kSignatureHeader = "X-MeterSync-Signature";
inline constexpr std::string_view kSignaturePrefix = "sha256=";

// The batch: {"source":…,"batch_id":…,"events":[…]}.
namespace batch_field {
inline constexpr std::string_view kSource = "source";
inline constexpr std::string_view kBatchId = "batch_id";
inline constexpr std::string_view kEvents = "events";
}  // namespace batch_field

// One event of a batch.
namespace event_field {
inline constexpr std::string_view kId = "id";
inline constexpr std::string_view kOp = "op";
inline constexpr std::string_view kCommittedAt = "committed_at";
inline constexpr std::string_view kPosition = "position";
inline constexpr std::string_view kMeter = "meter";
inline constexpr std::string_view kBefore = "before";
inline constexpr std::string_view kAfter = "after";
// The meter's key inside "meter".
inline constexpr std::string_view kSourceMeterId = "sourceMeterId";
}  // namespace event_field

// Values of "op" (core's op_name()).
inline constexpr std::array<std::string_view, 5> kOps = {"create", "update", "delete", "snapshot",
                                                         "truncate"};

}  // namespace metersync::wire
