// decode(): ring-buffer records to RecordBatch columns with SIMD, through
// Highway's runtime dispatch (AVX-512, AVX2, SSE4, ... or the portable
// EMU128 fallback). Each vector deinterleaves N records' four 64-bit words
// and peels the fields off with shifts and masks; the size class comes
// from the exponent of the size converted to double (exact: sizes are 48
// bits), and the live table's hash is computed here, while pointer and
// process are in registers, so the aggregator can prefetch its slots.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "aggregate/record_decode.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "aggregate/live_table.h"
#include "aggregate/record_batch.h"

HWY_BEFORE_NAMESPACE();
namespace memscope {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Decodes whole vectors of records; returns how many rows it wrote (the
// rest is the caller's scalar tail).
size_t DecodeVectors(const ms_record* HWY_RESTRICT records, size_t n, uint64_t now_ns, RecordBatch* out) {
  const hn::ScalableTag<uint64_t> d64;
  const hn::Rebind<uint32_t, decltype(d64)> d32;
  const hn::Rebind<uint8_t, decltype(d64)> d8;
  const hn::Rebind<int64_t, decltype(d64)> di64;
  const hn::Rebind<double, decltype(d64)> df64;
  const size_t lanes = hn::Lanes(d64);

  const auto size_mask = hn::Set(d64, (1ull << 48) - 1);
  const auto low32 = hn::Set(d64, 0xffffffffull);
  const auto low6 = hn::Set(d64, 63);
  const auto now = hn::Set(d64, now_ns >> MS_TIME_SHIFT);
  const auto exp_bias = hn::Set(d64, 1023), below_one = hn::Set(d64, 1022);
  const auto tgid_mul = hn::Set(d64, kLiveHashTgid);
  const auto mul1 = hn::Set(d64, kLiveHashMul1), mul2 = hn::Set(d64, kLiveHashMul2);

  const uint64_t* words = reinterpret_cast<const uint64_t*>(records);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    // ptr | size_lo, size_hi, kind_api, tier_epoch | tgid, tid | site_id, time
    hn::Vec<decltype(d64)> ptr, w1, w2, w3;
    hn::LoadInterleaved4(d64, words + 4 * i, ptr, w1, w2, w3);

    const auto size = hn::And(w1, size_mask);
    hn::StoreU(ptr, d64, out->ptr.data() + i);
    hn::StoreU(size, d64, out->size.data() + i);

    const auto time = hn::ShiftRight<32>(w3);
    const auto behind = hn::And(hn::Sub(now, time), low32);  // modulo 2^32
    const auto units = hn::IfThenZeroElse(hn::Gt(behind, now), hn::Sub(now, behind));
    hn::StoreU(hn::ShiftLeft<MS_TIME_SHIFT>(units), d64, out->time_ns.data() + i);

    hn::StoreU(hn::TruncateTo(d32, w2), d32, out->tgid.data() + i);
    hn::StoreU(hn::TruncateTo(d32, hn::ShiftRight<32>(w2)), d32, out->tid.data() + i);
    hn::StoreU(hn::TruncateTo(d32, w3), d32, out->site.data() + i);

    hn::StoreU(hn::TruncateTo(d8, hn::And(hn::ShiftRight<54>(w1), hn::Set(d64, 3))), d8, out->kind.data() + i);
    hn::StoreU(hn::TruncateTo(d8, hn::And(hn::ShiftRight<48>(w1), low6)), d8, out->api.data() + i);
    hn::StoreU(hn::TruncateTo(d8, hn::ShiftRight<62>(w1)), d8, out->tier.data() + i);
    hn::StoreU(hn::TruncateTo(d8, hn::And(hn::ShiftRight<56>(w1), low6)), d8, out->epoch.data() + i);

    const auto biased_exp = hn::ShiftRight<52>(hn::BitCast(d64, hn::ConvertTo(df64, hn::BitCast(di64, size))));
    const auto size_class = hn::IfThenElseZero(hn::Gt(biased_exp, below_one), hn::Sub(biased_exp, exp_bias));
    hn::StoreU(hn::TruncateTo(d8, size_class), d8, out->size_class.data() + i);

    auto h = hn::Xor(ptr, hn::Mul(hn::And(w2, low32), tgid_mul));
    h = hn::Xor(h, hn::ShiftRight<30>(h));
    h = hn::Mul(h, mul1);
    h = hn::Xor(h, hn::ShiftRight<27>(h));
    h = hn::Mul(h, mul2);
    h = hn::Xor(h, hn::ShiftRight<31>(h));
    hn::StoreU(h, d64, out->live_hash.data() + i);
  }
  return i;
}

}  // namespace HWY_NAMESPACE
}  // namespace memscope
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace memscope {

HWY_EXPORT(DecodeVectors);

void decode(std::span<const ms_record> records, uint64_t now_ns, RecordBatch& out) {
  out.resize(records.size());
  const size_t done = HWY_DYNAMIC_DISPATCH(DecodeVectors)(records.data(), records.size(), now_ns, &out);
  decode_rows_scalar(records.data(), done, records.size(), now_ns, out);
}

}  // namespace memscope
#endif
