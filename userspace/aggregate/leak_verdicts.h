// Which sites leak when the release probes are attached only in release
// windows (--max-overhead --window-releases): a sampled block whose free was
// not seen may have died between windows, so a site is told as a leak only
// when fewer of its frees were seen than chance explains. A free falls in
// a release window with probability c_r (the windows' coverage), so a site
// of n followed blocks, all dead, shows k ~ Binomial(n, c_r) frees, and
// p = P(Binomial(n, c_r) <= k).
//
// Each site alone at 5% calls sites that only free in proportion to how
// many a process has (docs/lifetimes.md#release-windows), so a process's
// sites are judged together: their p-values go through Benjamini-Hochberg
// at q = 5%, which bounds the expected share of false calls among the
// sites told. Comparing a site's seen share with its process's other
// sites' instead (no clock in it) was tried and fails: frees of unsampled
// blocks that took a sampled block's address are matched to it, so small
// blocks read 61% of their frees seen and 4-16 KiB ones 13% in one run at
// c_r = 1.1% (the web profile), and every site of large blocks looked like
// a leak against the small ones.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace memscope {

// One site's evidence: the sampled blocks the agent followed (their free
// could be seen) and how many of those frees were seen.
struct LeakEvidence {
  uint32_t site = 0;
  uint64_t followed = 0, seen = 0;
};

// One process's sites -> per site told as a leak, the sampled blocks alive
// beyond chance (followed less the most dead blocks its seen frees allow at
// the level it was told at); sites not told are absent. `c_r` is the
// release windows' coverage, in (0, 1]; 1 means every free was seen.
std::unordered_map<uint32_t, uint64_t> alive_beyond_chance(const std::vector<LeakEvidence>& sites, double c_r,
                                                           double q = 0.05);

}  // namespace memscope
