// Validates JSON against docs/report.schema.json with valijson.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace memscope::test {

// Empty when valid; otherwise the validator's errors, one per line.
std::string schema_errors(const nlohmann::json& doc, const std::string& schema_path);

}  // namespace memscope::test
