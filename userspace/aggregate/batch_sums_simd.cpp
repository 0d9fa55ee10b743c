// sum_batch(): the batch histograms with SIMD, through Highway's runtime
// dispatch.
//
// A histogram cannot scatter-increment in SIMD without lane conflicts, but
// a batch only holds a few distinct keys (a handful of tier/slot groups,
// the entry points in use, some twenty size classes), so each histogram
// keeps a short list of the keys seen so far and counts a whole vector of
// byte-wide keys against each listed key: compare, count the mask. On
// AVX-512 that is 64 records per compare. A vector holding a key not yet
// listed (the counts fall short of the lanes) takes a scalar detour that
// lists the key; keys beyond the list's room are counted scalar. Byte sums
// per group need 64-bit lanes: a second pass adds each vector of sizes
// into one accumulator per listed group, under the group's mask.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "aggregate/batch_sums_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "aggregate/batch_sums.h"

#ifndef MEMSCOPE_BATCH_SUMS_ONCE
#define MEMSCOPE_BATCH_SUMS_ONCE
namespace memscope::batch_sums_detail {

// The keys of one histogram seen so far in the batch, in order of first
// appearance, with their counts.
struct KeyList {
  static constexpr unsigned kRoom = 24;
  uint8_t key[kRoom];
  uint64_t count[kRoom];
  unsigned size = 0;

  int find(uint8_t k) const {
    for (unsigned j = 0; j < size; ++j)
      if (key[j] == k) return static_cast<int>(j);
    return -1;
  }
};

// Counts lanes whose key the vector pass did not know (it knew the first
// `known` keys): list them if there is room, else count them into
// `overflow`, indexed by key.
inline void count_unknown(KeyList& list, unsigned known, const uint8_t* keys, const uint8_t* valid, size_t lanes,
                          uint64_t* overflow) {
  for (size_t l = 0; l < lanes; ++l) {
    if (!valid[l]) continue;
    int j = list.find(keys[l]);
    if (j >= 0 && static_cast<unsigned>(j) < known) continue;  // the vector pass counted it
    if (j < 0 && list.size < KeyList::kRoom) {
      j = static_cast<int>(list.size++);
      list.key[j] = keys[l];
      list.count[j] = 0;
    }
    if (j >= 0) ++list.count[j];
    else ++overflow[keys[l]];
  }
}

}  // namespace memscope::batch_sums_detail
#endif

HWY_BEFORE_NAMESPACE();
namespace memscope {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using batch_sums_detail::KeyList;

// Counts one vector of keys against the listed keys; lanes outside `valid`
// are not counted.
template <bool kAllValid, class D, class V, class M>
HWY_INLINE void CountKeys(D d, KeyList& list, V keys, M valid, size_t expected, uint64_t* overflow) {
  size_t seen = 0;
  const unsigned known = list.size;
  for (unsigned j = 0; j < known; ++j) {
    auto match = hn::Eq(keys, hn::Set(d, list.key[j]));
    if constexpr (!kAllValid) match = hn::And(match, valid);
    const size_t c = hn::CountTrue(d, match);
    list.count[j] += c;
    seen += c;
  }
  if (HWY_LIKELY(seen == expected)) return;
  HWY_ALIGN uint8_t key_lanes[hn::MaxLanes(d)];
  HWY_ALIGN uint8_t valid_lanes[hn::MaxLanes(d)];
  hn::Store(keys, d, key_lanes);
  hn::Store(hn::VecFromMask(d, valid), d, valid_lanes);
  batch_sums_detail::count_unknown(list, known, key_lanes, valid_lanes, hn::Lanes(d), overflow);
}

// Counts every record of [0, n) in whole vectors; returns where the vector
// part stopped.
size_t CountVectors(const RecordBatch& b, KeyList& groups, KeyList& apis, KeyList& classes, uint64_t* group_overflow,
                    uint64_t* api_overflow, uint64_t* class_overflow) {
  const hn::ScalableTag<uint8_t> d;
  const size_t lanes = hn::Lanes(d), n = b.count();
  const auto one = hn::Set(d, MS_KIND_FREE), low6 = hn::Set(d, 63), free_api = hn::Set(d, 64);
  const auto all = hn::FirstN(d, lanes);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto is_free = hn::Eq(hn::LoadU(d, b.kind.data() + i), one);
    const auto is_alloc = hn::Not(is_free);
    const auto group =
        hn::Or(hn::ShiftLeft<6>(hn::LoadU(d, b.tier.data() + i)), hn::And(hn::LoadU(d, b.epoch.data() + i), low6));
    // Frees are counted per entry point in their own rows (64 + api), and
    // fall into a class row (64) that the result leaves out.
    const auto api = hn::Or(hn::And(hn::LoadU(d, b.api.data() + i), low6), hn::IfThenElseZero(is_free, free_api));
    const auto size_class = hn::IfThenElse(is_free, free_api, hn::And(hn::LoadU(d, b.size_class.data() + i), low6));
    CountKeys<false>(d, groups, group, is_alloc, hn::CountTrue(d, is_alloc), group_overflow);
    CountKeys<true>(d, apis, api, all, lanes, api_overflow);
    CountKeys<true>(d, classes, size_class, all, lanes, class_overflow);
  }
  return i;
}

// Adds the sizes of allocation records into per-group accumulators, for
// the listed groups; returns where the vector part stopped.
size_t SumGroupBytes(const RecordBatch& b, const KeyList& groups, uint64_t* sums) {
  const hn::ScalableTag<uint64_t> d64;
  const hn::Rebind<uint32_t, decltype(d64)> d32;
  const hn::Rebind<uint8_t, decltype(d64)> d8;
  const size_t lanes = hn::Lanes(d64), n = b.count();
  const auto one = hn::Set(d64, MS_KIND_FREE), three = hn::Set(d64, 3), low6 = hn::Set(d64, 63);
  auto widen = [&](const uint8_t* p) { return hn::PromoteTo(d64, hn::PromoteTo(d32, hn::LoadU(d8, p))); };

  HWY_ALIGN uint64_t acc[KeyList::kRoom * hn::MaxLanes(d64)] = {};
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto size = hn::IfThenZeroElse(hn::Eq(widen(b.kind.data() + i), one), hn::LoadU(d64, b.size.data() + i));
    const auto group =
        hn::Or(hn::ShiftLeft<6>(hn::And(widen(b.tier.data() + i), three)), hn::And(widen(b.epoch.data() + i), low6));
    for (unsigned j = 0; j < groups.size; ++j) {
      uint64_t* a = acc + j * lanes;
      const auto add = hn::IfThenElseZero(hn::Eq(group, hn::Set(d64, groups.key[j])), size);
      hn::Store(hn::Add(hn::Load(d64, a), add), d64, a);
    }
  }
  for (unsigned j = 0; j < groups.size; ++j) sums[j] = hn::GetLane(hn::SumOfLanes(d64, hn::Load(d64, acc + j * lanes)));
  return i;
}

void SumVectors(const RecordBatch& b, BatchSums& out) {
  out = BatchSums{};
  KeyList groups, apis, classes;
  uint64_t group_overflow[256] = {}, api_overflow[256] = {}, class_overflow[256] = {};
  const size_t n = b.count();
  size_t i = CountVectors(b, groups, apis, classes, group_overflow, api_overflow, class_overflow);

  for (; i < n; ++i) {  // the tail: nothing of it was counted yet
    const bool is_free = b.kind[i] == MS_KIND_FREE;
    const uint8_t api = static_cast<uint8_t>((is_free ? 64 : 0) | (b.api[i] & 63));
    const uint8_t size_class = static_cast<uint8_t>(is_free ? 64 : (b.size_class[i] & 63));
    const uint8_t valid = 1, group = static_cast<uint8_t>(group_of(b.tier[i], b.epoch[i])), alloc = !is_free;
    batch_sums_detail::count_unknown(groups, 0, &group, &alloc, 1, group_overflow);
    batch_sums_detail::count_unknown(apis, 0, &api, &valid, 1, api_overflow);
    batch_sums_detail::count_unknown(classes, 0, &size_class, &valid, 1, class_overflow);
  }

  bool groups_overflowed = false;
  for (unsigned g = 0; g < kGroups; ++g) groups_overflowed |= group_overflow[g] != 0;
  for (unsigned j = 0; j < groups.size; ++j) group_overflow[groups.key[j]] += groups.count[j];
  for (unsigned j = 0; j < apis.size; ++j) api_overflow[apis.key[j]] += apis.count[j];
  for (unsigned j = 0; j < classes.size; ++j) class_overflow[classes.key[j]] += classes.count[j];
  for (unsigned g = 0; g < kGroups; ++g) {
    out.group_count[g] = group_overflow[g];
    out.allocations += group_overflow[g];
  }
  for (unsigned k = 0; k < 64; ++k) {
    out.api_allocs[k] = api_overflow[k];
    out.api_frees[k] = api_overflow[64 + k];
    out.class_count[k] = class_overflow[k];
  }
  out.records = n;
  out.frees = n - out.allocations;

  // Bytes: the vector pass sums the listed groups; the tail, and groups
  // that did not fit the list (only with more than kRoom groups in one
  // batch), are summed scalar.
  uint64_t listed[KeyList::kRoom] = {};
  const size_t done = SumGroupBytes(b, groups, listed);
  for (unsigned j = 0; j < groups.size; ++j) out.group_bytes[groups.key[j]] += listed[j];
  bool is_listed[kGroups] = {};
  for (unsigned j = 0; j < groups.size; ++j) is_listed[groups.key[j]] = true;
  for (size_t k = groups_overflowed ? 0 : done; k < n; ++k) {
    if (b.kind[k] == MS_KIND_FREE) continue;
    const unsigned g = group_of(b.tier[k], b.epoch[k]);
    if (k >= done || !is_listed[g]) out.group_bytes[g] += b.size[k];
  }
}

void SumBatch(const RecordBatch* batch, BatchSums* out_sums) {
#if (HWY_ARCH_X86 && HWY_TARGET >= HWY_SSE4) || HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SCALAR
  // 16-byte vectors (and their emulation) count too few keys per compare
  // to beat the scalar loop (BM_BatchSums, docs/measurements.md#microbenchmarks).
  sum_batch_scalar(*batch, *out_sums);
#else
  SumVectors(*batch, *out_sums);
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace memscope
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace memscope {

HWY_EXPORT(SumBatch);

void sum_batch(const RecordBatch& b, BatchSums& out) { HWY_DYNAMIC_DISPATCH(SumBatch)(&b, &out); }

}  // namespace memscope
#endif
