#include "report/report_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "common/error.h"
#include "report/json_report.h"

namespace memscope {

void write_report_file(const Report& report, const std::string& output) {
  std::string text = to_json(report).dump(2) + "\n";
  if (output == "-") {
    std::cout << text << std::flush;
    return;
  }
  std::string tmp = output + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw Error("cannot write " + output + ": " + strerror(errno));
    out << text;
    if (!out.flush()) throw Error("cannot write " + output + ": " + strerror(errno));
  }
  if (rename(tmp.c_str(), output.c_str()) != 0) throw Error("cannot write " + output + ": " + strerror(errno));
}

}  // namespace memscope
