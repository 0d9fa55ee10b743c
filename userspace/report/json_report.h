// The report as JSON (schema "memscope-bpf/report/v1", documented in
// docs/report.schema.json).
#pragma once
#include <nlohmann/json.hpp>

#include "report/report.h"

namespace memscope {

inline constexpr const char* kReportSchema = "memscope-bpf/report/v1";

nlohmann::json to_json(const Report& report);

// 95% interval of an estimate from its variance estimate (normal
// approximation), never below what the records themselves show (`floor`).
nlohmann::json interval(double estimate, double variance, double floor);

}  // namespace memscope
