#include "aggregate/record_batch.h"

#include "aggregate/live_table.h"

namespace memscope {

void RecordBatch::clear() { resize(0); }

void RecordBatch::resize(size_t n) {
  for (auto* v : {&ptr, &size, &time_ns, &live_hash}) v->resize(n);
  for (auto* v : {&tgid, &tid, &site}) v->resize(n);
  for (auto* v : {&kind, &api, &tier, &epoch, &size_class}) v->resize(n);
}

uint64_t unwrap_time(uint32_t time, uint64_t now_ns) {
  uint64_t now = now_ns >> MS_TIME_SHIFT;
  uint32_t behind = static_cast<uint32_t>(now) - time;  // modulo 2^32
  uint64_t units = behind <= now ? now - behind : 0;
  return units << MS_TIME_SHIFT;
}

void decode_rows_scalar(const ms_record* records, size_t from, size_t to, uint64_t now_ns, RecordBatch& out) {
  for (size_t i = from; i < to; ++i) {
    const ms_record& r = records[i];
    const uint64_t size = ms_record_size(&r);
    out.ptr[i] = r.ptr;
    out.size[i] = size;
    out.time_ns[i] = unwrap_time(r.time, now_ns);
    out.tgid[i] = r.tgid;
    out.tid[i] = r.tid;
    out.site[i] = r.site_id;
    out.kind[i] = static_cast<uint8_t>(ms_record_kind(&r));
    out.api[i] = static_cast<uint8_t>(ms_record_api(&r));
    out.tier[i] = static_cast<uint8_t>(ms_record_tier(&r));
    out.epoch[i] = static_cast<uint8_t>(ms_record_epoch(&r));
    out.size_class[i] = static_cast<uint8_t>(size > 1 ? 63 - __builtin_clzll(size) : 0);
    out.live_hash[i] = live_key_hash(r.tgid, r.ptr);
  }
}

void decode_scalar(std::span<const ms_record> records, uint64_t now_ns, RecordBatch& out) {
  out.resize(records.size());
  decode_rows_scalar(records.data(), 0, records.size(), now_ns, out);
}

}  // namespace memscope
