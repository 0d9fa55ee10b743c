// The report as JSON (schema "memscope-bpf/report/v1", documented in
// docs/report.schema.json).
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "report/report.h"

namespace memscope {

inline constexpr const char* kReportSchema = "memscope-bpf/report/v1";

nlohmann::json to_json(const Report& report);

// The names in a report are the traced programs' own bytes (comm, paths,
// symbols): one that is not UTF-8 is written with U+FFFD in place of its bad
// bytes, where nlohmann's default would throw and lose the whole file.
inline constexpr auto kReplaceBadUtf8 = nlohmann::json::error_handler_t::replace;

// `s` as the JSON report writes it: U+FFFD in place of each byte sequence
// that is not UTF-8, for the formats whose strings must be UTF-8 (pprof's
// profile.proto: protobuf will not parse a string that is not).
std::string utf8_repaired(const std::string& s);

// 95% interval of an estimate from its variance estimate (normal
// approximation), never below what the records themselves show (`floor`).
nlohmann::json interval(double estimate, double variance, double floor);

}  // namespace memscope
