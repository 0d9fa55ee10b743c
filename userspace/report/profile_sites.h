// The sites the profile exporters (pprof, folded stacks, speedscope) draw
// stacks from: each process's own sites and, after them, its leak sites
// that --top left out of that list, so that what is live at the end is not
// lost to a ranking by allocated bytes.
#pragma once
#include <string>
#include <vector>

#include "report/report.h"

namespace memscope {

struct ProfileSite {
  const TargetReport* target;
  const SiteReport* site;
};

// Process by process, in the report's order; pointers into `report`.
std::vector<ProfileSite> profile_sites(const Report& report);

// The process as a frame name: "comm (pid)".
std::string process_frame(const TargetReport& target);

// The site's frames, innermost first; a site whose stack was not recorded
// gets one frame saying so, so that its bytes still show in a profile.
std::vector<Frame> stack_of(const SiteReport& site);

// A frame's function, or "[unknown]" where it has none.
std::string frame_name(const Frame& frame);

}  // namespace memscope
