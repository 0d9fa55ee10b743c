// Which processes to follow beside the targets given up front: the
// settings the command line chooses for the follow stage.
#pragma once
#include <string>
#include <vector>

#include "targets/allocator.h"

namespace memscope {

struct FollowOptions {
  std::vector<std::string> comms;  // --comm NAME (repeatable)
  bool children = false;           // --follow-children
  bool all = false;                // --all
  PlacementMode placement = PlacementMode::Smart;
  bool verbose = false;
};

}  // namespace memscope
