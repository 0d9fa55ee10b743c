#include "support/schema_check.h"

#include <fstream>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

namespace memscope::test {

struct SchemaCheck::Loaded {
  std::string error;  // the schema could not be read
  valijson::Schema schema;
};

SchemaCheck::SchemaCheck(const std::string& schema_path) : loaded_(std::make_unique<Loaded>()) {
  std::ifstream in(schema_path);
  if (!in) {
    loaded_->error = "cannot open " + schema_path;
    return;
  }
  nlohmann::json schema_doc = nlohmann::json::parse(in);
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_doc);
  parser.populateSchema(schema_adapter, loaded_->schema);
}

SchemaCheck::~SchemaCheck() = default;

std::string SchemaCheck::errors(const nlohmann::json& doc) const {
  if (!loaded_->error.empty()) return loaded_->error;
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter doc_adapter(doc);
  if (validator.validate(loaded_->schema, doc_adapter, &results)) return "";
  std::string out;
  valijson::ValidationResults::Error e;
  while (results.popError(e)) {
    std::string ctx;
    for (const auto& c : e.context) ctx += c;
    out += ctx + ": " + e.description + "\n";
  }
  return out;
}

std::string schema_errors(const nlohmann::json& doc, const std::string& schema_path) {
  return SchemaCheck(schema_path).errors(doc);
}

}  // namespace memscope::test
