// speedscope's own file format (https://www.speedscope.app/file-format-schema.json):
// two sampled profiles per process, its estimated bytes allocated and its
// estimated bytes still live at the end, each "sample" a site's stack
// (outermost first) weighted by its bytes rounded to a whole byte.
#pragma once
#include <nlohmann/json.hpp>

#include "report/report.h"

namespace memscope {

nlohmann::json to_speedscope(const Report& report);

}  // namespace memscope
