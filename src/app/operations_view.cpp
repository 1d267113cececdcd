#include "app/operations_view.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace metersync::app {
namespace {

using Json = nlohmann::ordered_json;

int64_t unix_ms(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

// Named apart from status_file.cpp's optional_time: the sanitizer builds compile a library as one unit.
Json time_or_null(const std::optional<std::chrono::system_clock::time_point>& at) {
  return at ? Json(health::iso_utc(*at)) : Json();
}

Json replay_json(const std::string& source, const OperationsParts& parts,
                 const std::map<std::string, ReplayRunner::Run>& runs) {
  Json replay{{"available", parts.replays.replayable(source)}};
  const auto run = runs.find(source);
  if (run == runs.end()) {
    replay["state"] = "idle";
    return replay;
  }
  const ReplayRunner::Run& r = run->second;
  replay["state"] = r.running ? "running" : "finished";
  replay["started_at"] = health::iso_utc(r.started_at);
  replay["finished_at"] = time_or_null(r.finished_at);
  replay["delivered"] = r.result.delivered;
  replay["skipped"] = r.result.skipped;
  replay["complete"] = r.result.complete;
  replay["error"] = r.result.error;
  return replay;
}

}  // namespace

std::string operations_json(const OperationsParts& parts, std::chrono::system_clock::time_point now) {
  const std::vector<health::Verdict> verdicts = parts.readiness.verdicts();
  const std::vector<health::ProgressHistory::Series> series = parts.history.series();
  const auto totals = parts.dead_letters.totals();
  const auto runs = parts.replays.runs();

  Json sources = Json::array();
  for (const std::string& source : parts.sources) {
    Json destinations = Json::array();
    for (const health::Verdict& v : verdicts) {
      if (v.source != source) continue;
      Json d{{"destination", v.destination}, {"state", health::state_name(v.state)}, {"ready", v.ready},
             {"reason", v.ready ? Json() : Json(v.reason)}, {"since", time_or_null(v.since)}};
      const auto seen = std::find_if(series.begin(), series.end(), [&](const auto& s) {
        return s.source == v.source && s.destination == v.destination;
      });
      Json history = Json::array();
      Json lag;  // null while unknown
      std::string last_error;
      if (seen != series.end()) {
        for (const auto& point : seen->points) {
          history.push_back(Json::array({unix_ms(point.at), point.rate, point.lag ? Json(*point.lag) : Json()}));
        }
        // A copy: the checker cannot tell that the iterator names the same optional twice.
        const std::optional<int64_t> latest = seen->lag;
        if (latest) lag = *latest;
        last_error = seen->last_error;
      }
      const auto total = totals.find({v.source, v.destination});
      d["last_error"] = last_error;
      d["lag"] = lag;
      d["dead_letters"] = total == totals.end() ? 0 : total->second;
      d["history"] = std::move(history);
      destinations.push_back(std::move(d));
    }
    sources.push_back(Json{{"source", source}, {"replay", replay_json(source, parts, runs)},
                           {"destinations", std::move(destinations)}});
  }

  Json letters = Json::array();
  for (const metrics::KeptDeadLetter& l : parts.dead_letters.newest_first()) {
    letters.push_back(Json{{"at", health::iso_utc(l.at)}, {"source", l.source}, {"destination", l.destination},
                           {"stage", l.note.stage}, {"reason", l.note.reason}, {"topic", l.note.topic},
                           {"partition", l.note.partition}, {"offset", l.note.offset},
                           {"records", l.note.records}});
  }

  Json replay{{"enabled", parts.replay_enabled}};
  if (!parts.replay_enabled) {
    replay["why_not"] = "http.replay_token is not set in metersync's configuration; set it "
                        "(METERSYNC_REPLAY_TOKEN with the shipped file) to replay from this page, "
                        "or run `metersync replay --source NAME`";
  }
  return Json{{"generated_at", health::iso_utc(now)},
              {"generated_at_ms", unix_ms(now)},
              {"ready", parts.readiness.ready()},
              {"step_seconds", health::ProgressHistory::kStep.count()},
              {"window_seconds", health::ProgressHistory::kStep.count() *
                                     static_cast<int64_t>(health::ProgressHistory::kPoints)},
              {"replay", std::move(replay)},
              {"sources", std::move(sources)},
              {"dead_letters", Json{{"kept", metrics::DeadLetterLog::kCapacity}, {"entries", std::move(letters)}}}}
      .dump();
}

}  // namespace metersync::app
