#include "report/speedscope_writer.h"

#include <cmath>
#include <map>
#include <tuple>

#include "report/profile_sites.h"

namespace memscope {
namespace {

using nlohmann::json;

// shared.frames, each function at each source line once.
class FrameTable {
 public:
  size_t index(const Frame& f) {
    auto key = std::make_tuple(frame_name(f), f.file, f.line);
    auto [it, fresh] = ids_.try_emplace(key, frames_.size());
    if (fresh) {
      json frame = {{"name", frame_name(f)}};
      if (!f.file.empty()) frame["file"] = f.file;
      if (f.line > 0) frame["line"] = f.line;
      frames_.push_back(std::move(frame));
    }
    return it->second;
  }
  json frames() const { return frames_; }

 private:
  std::map<std::tuple<std::string, std::string, int>, size_t> ids_;
  json frames_ = json::array();
};

json sampled_profile(const std::string& name) {
  return {{"type", "sampled"},       {"name", name},  {"unit", "bytes"},
          {"startValue", 0},         {"endValue", 0}, {"samples", json::array()},
          {"weights", json::array()}};
}

void add_sample(json& profile, const json& stack, double bytes) {
  const long long weight = std::llround(bytes);
  if (weight <= 0) return;
  profile["samples"].push_back(stack);
  profile["weights"].push_back(weight);
  profile["endValue"] = profile["endValue"].get<long long>() + weight;
}

}  // namespace

json to_speedscope(const Report& report) {
  FrameTable frames;
  std::vector<ProfileSite> sites = profile_sites(report);
  json profiles = json::array();
  for (const auto& t : report.targets) {
    json allocated = sampled_profile(process_frame(t) + ": bytes allocated");
    json live = sampled_profile(process_frame(t) + ": bytes live at the end");
    for (const auto& p : sites) {
      if (p.target != &t) continue;
      const std::vector<Frame> site_frames = stack_of(*p.site);
      json stack = json::array();
      for (auto f = site_frames.rbegin(); f != site_frames.rend(); ++f) stack.push_back(frames.index(*f));
      add_sample(allocated, stack, p.site->estimated.bytes);
      add_sample(live, stack, p.site->estimated.live_bytes);
    }
    profiles.push_back(std::move(allocated));
    profiles.push_back(std::move(live));
  }
  return {{"$schema", "https://www.speedscope.app/file-format-schema.json"},
          {"name", "memscope-bpf"},
          {"exporter", "memscope-bpf 0.1.0"},
          {"activeProfileIndex", 0},
          {"shared", {{"frames", frames.frames()}}},
          {"profiles", profiles}};
}

}  // namespace memscope
