#include "aggregate/record_batch.h"

namespace memscope {

void RecordBatch::clear() {
  for (auto* v : {&ptr, &size, &time_ns}) v->clear();
  for (auto* v : {&tgid, &tid, &site}) v->clear();
  for (auto* v : {&kind, &api, &tier, &epoch}) v->clear();
}

uint64_t unwrap_time(uint32_t time, uint64_t now_ns) {
  uint64_t now = now_ns >> MS_TIME_SHIFT;
  uint32_t behind = static_cast<uint32_t>(now) - time;  // modulo 2^32
  uint64_t units = behind <= now ? now - behind : 0;
  return units << MS_TIME_SHIFT;
}

void decode(std::span<const ms_record> records, uint64_t now_ns, RecordBatch& out) {
  out.clear();
  for (const ms_record& r : records) {
    out.ptr.push_back(r.ptr);
    out.size.push_back(ms_record_size(&r));
    out.time_ns.push_back(unwrap_time(r.time, now_ns));
    out.tgid.push_back(r.tgid);
    out.tid.push_back(r.tid);
    out.site.push_back(r.site_id);
    out.kind.push_back(static_cast<uint8_t>(ms_record_kind(&r)));
    out.api.push_back(static_cast<uint8_t>(ms_record_api(&r)));
    out.tier.push_back(static_cast<uint8_t>(ms_record_tier(&r)));
    out.epoch.push_back(static_cast<uint8_t>(ms_record_epoch(&r)));
  }
}

}  // namespace memscope
