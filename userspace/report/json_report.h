// The report as JSON (schema "memscope-bpf/report/v1", documented in
// docs/report.schema.json).
#pragma once
#include <nlohmann/json.hpp>

#include "report/report.h"

namespace memscope {

inline constexpr const char* kReportSchema = "memscope-bpf/report/v1";

nlohmann::json to_json(const Report& report);

}  // namespace memscope
