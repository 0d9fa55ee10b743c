/* Integer math the BPF programs sample with, shared with C++ so that unit
 * tests check exactly what runs in the kernel. No floating point in BPF;
 * clang 14 cannot compile __builtin_clzll for BPF. */
#ifndef MEMSCOPE_SAMPLING_MATH_H
#define MEMSCOPE_SAMPLING_MATH_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#ifndef MS_INLINE
#ifdef __bpf__
#define MS_INLINE static __always_inline
#else
#define MS_INLINE static inline
#endif
#endif

/* floor(log2(v)), 0 for v <= 1: the log2 size class. */
MS_INLINE __u32 size_class(__u64 v)
{
	__u32 r = 0;
	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1) {
		r += 1;
	}
	return r;
}

/* -ln(U) in 16.16 fixed point for U = x / 2^32 (x = 0 taken as 1): an
 * exponential draw of mean 1. ln 2 * (32 - log2(x)), with log2's fraction
 * found by squaring the mantissa 16 times. */
MS_INLINE __u64 neg_ln_uniform_q16(__u32 x)
{
	__u64 m, log2_q16;
	__u32 k;
	int i;

	if (!x)
		x = 1;
	k = size_class(x);
	m = (__u64)x << (31 - k); /* mantissa in [2^31, 2^32): 1.xxx in Q31 */
	log2_q16 = (__u64)k << 16;
#ifdef __bpf__
#pragma unroll
#endif
	for (i = 15; i >= 0; i--) {
		m = (m * m) >> 31;
		if (m >= (1ULL << 32)) {
			m >>= 1;
			log2_q16 |= 1ULL << i;
		}
	}
	/* ln 2 = 45426 / 2^16 */
	return ((((__u64)32 << 16) - log2_q16) * 45426) >> 16;
}

/* One uniform 32-bit draw from a per-CPU xorshift64* state (Vigna 2016:
 * passes BigCrush in its high bits, which are the ones returned). Drawn in
 * the program instead of by bpf_get_prandom_u32(): a helper call costs more
 * than the rest of an unsampled call's decision
 * (docs/measurements.md#where-the-time-beyond-the-trap-goes). A zero state is stuck at
 * zero; the caller seeds it. */
MS_INLINE __u32 ms_next_draw(__u64 *state)
{
	__u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (__u32)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* The tier draw with the "one in every N calls" guarantee. `since` counts
 * this CPU's calls since its last sample. Returns 0 (not sampled), 1
 * (drawn: weighs 1/p) or 2 (forced: weighs 1). The guarantee is checked
 * before the draw: given the past, a call it forces is sampled with
 * probability 1, so it must weigh 1 even when the draw would have picked it
 * too; drawing first would weigh those calls 1/p and bias estimates up. */
MS_INLINE int ms_draw_with_guarantee(__u32 *since, __u32 guarantee, __u32 draw, __u64 threshold)
{
	if (guarantee && *since + 1 >= guarantee) {
		*since = 0;
		return 2;
	}
	if ((__u64)draw < threshold) {
		*since = 0;
		return 1;
	}
	*since += 1;
	return 0;
}

#endif
