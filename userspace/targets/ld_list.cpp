#include "targets/ld_list.h"

#include <sstream>

namespace memscope {

std::vector<std::string> parse_ld_list(const std::string& text, const std::string& exe_path) {
  std::vector<std::string> paths;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::string path;
    if (auto arrow = line.find("=> "); arrow != std::string::npos) {
      path = line.substr(arrow + 3);
    } else if (auto first = line.find_first_not_of(" \t"); first != std::string::npos) {
      path = line.substr(first);
    }
    if (auto paren = path.find(" ("); paren != std::string::npos) path.resize(paren);
    if (!path.empty() && path[0] == '/' && path != exe_path) paths.push_back(std::move(path));
  }
  return paths;
}

}  // namespace memscope
