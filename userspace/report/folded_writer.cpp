#include "report/folded_writer.h"

#include <cmath>
#include <map>

#include "report/profile_sites.h"

namespace memscope {
namespace {

// ';' separates frames and the line ends the stack: neither may appear in
// a name (a demangled C++ name has neither, a file name might).
std::string clean(std::string name) {
  for (char& c : name)
    if (c == ';' || c == '\n' || c == '\r') c = ' ';
  return name;
}

// Outermost first: the process, then the frames the report lists
// innermost first, inlined functions as frames of their own.
std::string folded_stack(const ProfileSite& p) {
  std::string stack = clean(process_frame(*p.target));
  const std::vector<Frame> frames = stack_of(*p.site);
  for (auto f = frames.rbegin(); f != frames.rend(); ++f) stack += ';' + clean(frame_name(*f));
  return stack;
}

}  // namespace

std::string to_folded(const Report& report, FoldedValue value) {
  // Sites that differ only where the names leave out (lines, modules) fold
  // into one stack.
  std::map<std::string, double> stacks;
  for (const auto& p : profile_sites(report))
    stacks[folded_stack(p)] += value == FoldedValue::alloc ? p.site->estimated.bytes : p.site->estimated.live_bytes;
  std::string out;
  for (const auto& [stack, bytes] : stacks) {
    const long long rounded = std::llround(bytes);
    if (rounded > 0) out += stack + ' ' + std::to_string(rounded) + '\n';
  }
  return out;
}

}  // namespace memscope
