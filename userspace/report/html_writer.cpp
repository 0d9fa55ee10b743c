#include "report/html_writer.h"

#include "common/error.h"
#include "report/html_assets.h"
#include "report/json_report.h"

namespace memscope {
namespace {

constexpr std::string_view kDataSlot = "@@REPORT_JSON@@";
constexpr std::string_view kScriptSlot = "@@SCRIPT@@";

}  // namespace

std::string script_safe_json(const nlohmann::json& json) {
  // '<' stands only inside JSON strings, where \u003c means the same.
  // Names that are not UTF-8 become U+FFFD, as in the JSON report.
  const std::string text = json.dump(-1, ' ', false, kReplaceBadUtf8);
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (char c : text) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

std::string html_page(const nlohmann::json& report) {
  const std::string_view page = html_page_template();
  const size_t data = page.find(kDataSlot), script = page.find(kScriptSlot);
  if (data == std::string_view::npos || script == std::string_view::npos || script < data)
    throw Error("the HTML report's page template has lost its slots");
  // One pass over the template: what is put in a slot is never searched
  // again, so a name in the report that reads "@@SCRIPT@@" stays a name.
  std::string out;
  out += page.substr(0, data);
  out += script_safe_json(report);
  out += page.substr(data + kDataSlot.size(), script - data - kDataSlot.size());
  out += html_script();
  out += page.substr(script + kScriptSlot.size());
  return out;
}

std::string to_html(const Report& report) { return html_page(to_json(report)); }

}  // namespace memscope
