#include "report/profile_sites.h"

#include <set>

namespace memscope {

std::vector<ProfileSite> profile_sites(const Report& report) {
  std::vector<ProfileSite> out;
  for (const auto& t : report.targets) {
    std::set<uint32_t> listed;
    for (const auto& s : t.sites) {
      listed.insert(s.site_id);
      out.push_back({&t, &s});
    }
    for (const auto& s : t.leaks)
      if (!listed.count(s.site_id)) out.push_back({&t, &s});
  }
  return out;
}

std::string process_frame(const TargetReport& target) {
  return target.process.comm + " (" + std::to_string(target.process.pid) + ")";
}

std::vector<Frame> stack_of(const SiteReport& site) {
  if (!site.frames.empty()) return site.frames;
  Frame none;
  none.function = "[no stack" + (site.truncated_reason.empty() ? "" : ": " + site.truncated_reason) + "]";
  return {none};
}

std::string frame_name(const Frame& frame) { return frame.function.empty() ? "[unknown]" : frame.function; }

}  // namespace memscope
