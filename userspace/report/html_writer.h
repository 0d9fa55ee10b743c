// The report as one self-contained HTML page: an interactive flame graph,
// the size histogram, memory over time, the top sites and leaks, the
// sampling decisions and what the run cost, drawn by the page's own script
// from the report's JSON, which the page carries inline. Nothing is
// fetched: the page works offline.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "report/report.h"

namespace memscope {

// The page for a report already made JSON (to_json's document).
std::string html_page(const nlohmann::json& report);

// The page for `report`: html_page(to_json(report)).
std::string to_html(const Report& report);

// `json` as text that may stand inside a <script> element: every '<' is
// written \u003c, so that no "</script>" or "<!--" in a name ends or
// changes the element; JSON.parse reads it back unchanged.
std::string script_safe_json(const nlohmann::json& json);

}  // namespace memscope
