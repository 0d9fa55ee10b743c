// Validates JSON against docs/report.schema.json with valijson.
#pragma once
#include <nlohmann/json.hpp>
#include <memory>
#include <string>

namespace memscope::test {

// Empty when valid; otherwise the validator's errors, one per line.
std::string schema_errors(const nlohmann::json& doc, const std::string& schema_path);

// The same with the schema read once, for checking many documents (a fuzzer).
class SchemaCheck {
 public:
  explicit SchemaCheck(const std::string& schema_path);
  ~SchemaCheck();
  std::string errors(const nlohmann::json& doc) const;

 private:
  struct Loaded;
  std::unique_ptr<Loaded> loaded_;
};

}  // namespace memscope::test
