/* Binary (+-1) GEMM, LCE-class: 8 x 4 register tiles, ADDP reduction across outputs, fused
 * output transform.  (Design after Larq Compute Engine's bgemm; no code taken from it.)
 *
 * Per 128-bit chunk of K and activation row i of the tile: EOR + CNT for the 4 weight rows
 * (per-byte popcounts <= 8), then ADDP(ADDP(p0, p1), ADDP(p2, p3)) puts 4 partial sums of each
 * output side by side (bytes <= 32), and one UADALP adds them into u16 lanes laid out
 * [o0 o0 o1 o1 o2 o2 o3 o3] (+64 at most per chunk).  Every QT_BIN_WIDEN = 1023 chunks
 * (1023 * 64 = 65472 <= 65535) one more UADALP folds them into u32 lanes [o0 o1 o2 o3], so
 * the popcount of 4 outputs ends in ONE register: no per-output UADDLV, and K - 2 * pop is
 * computed and stored 4 outputs at a time.  Cost per chunk of an 8 x 4 tile: 12 loads,
 * 32 EOR, 32 CNT, 24 ADDP, 8 UADALP = 108 instructions for 32 * 128 = 4096 bit-MACs.
 *
 * Output transforms (fused into the tile store):
 *   int32  dot = K - 2 popcount(a ^ w)
 *   float  clamp(scale[n] * dot + bias[n], lo, hi)      (FMUL then FADD, never fused)
 *   bits   bit (m, n) = 1 iff sign[n] * dot < thr[n], packed LSB-first into rows of
 *          padded_bytes(N) bytes: the next binary layer's packed activations.
 */
#include "qt_kernels.h"

#define QT_INLINE static inline __attribute__((always_inline))
#define QT_BIN_WIDEN 1023

/* Popcounts of a[i] ^ w[j] for i < mr (<= 8), j < 4 over kb bytes: pop[i] lane j. */
QT_INLINE void bgemm_tile(const uint8_t *a, const uint8_t *const w[4], int64_t kb, int mr,
                          uint32x4_t pop[8]) {
    const int64_t chunks = kb / 16;
    for (int i = 0; i < mr; i++) pop[i] = vdupq_n_u32(0);
    for (int64_t c0 = 0; c0 < chunks; c0 += QT_BIN_WIDEN) {
        const int64_t c1 = c0 + QT_BIN_WIDEN < chunks ? c0 + QT_BIN_WIDEN : chunks;
        uint16x8_t acc[8];
        for (int i = 0; i < mr; i++) acc[i] = vdupq_n_u16(0);
        for (int64_t off = 16 * c0; off < 16 * c1; off += 16) {
            const uint8x16_t w0 = vld1q_u8(w[0] + off), w1 = vld1q_u8(w[1] + off);
            const uint8x16_t w2 = vld1q_u8(w[2] + off), w3 = vld1q_u8(w[3] + off);
            for (int i = 0; i < mr; i++) {
                const uint8x16_t x = vld1q_u8(a + i * kb + off);
                const uint8x16_t s01 = vpaddq_u8(vcntq_u8(veorq_u8(x, w0)), vcntq_u8(veorq_u8(x, w1)));
                const uint8x16_t s23 = vpaddq_u8(vcntq_u8(veorq_u8(x, w2)), vcntq_u8(veorq_u8(x, w3)));
                acc[i] = vpadalq_u8(acc[i], vpaddq_u8(s01, s23));
            }
        }
        for (int i = 0; i < mr; i++) pop[i] = vpadalq_u16(pop[i], acc[i]);
    }
}

/* Store lanes j < nr of v (4 int32/float) at dst. */
QT_INLINE void store4_s32(int32_t *dst, int32x4_t v, int nr) {
    if (nr == 4) { vst1q_s32(dst, v); return; }
    int32_t tmp[4];
    vst1q_s32(tmp, v);
    for (int j = 0; j < nr; j++) dst[j] = tmp[j];
}

QT_INLINE void store4_f32(float *dst, float32x4_t v, int nr) {
    if (nr == 4) { vst1q_f32(dst, v); return; }
    float tmp[4];
    vst1q_f32(tmp, v);
    for (int j = 0; j < nr; j++) dst[j] = tmp[j];
}

/* Tile epilogue: dot = K - 2 pop, then the requested transform for output rows m..m+mr-1,
 * columns n..n+nr-1.  p->mode: 0 int32, 1 float, 2 bits. */
QT_INLINE void bgemm_store(const qt_bin_out *p, const uint32x4_t pop[8], int64_t m, int64_t n,
                           int mr, int nr) {
    const int32x4_t kv = vdupq_n_s32((int32_t)p->K);
    int32x4_t sc = vdupq_n_s32(0), th = vdupq_n_s32(0);
    float32x4_t fs = vdupq_n_f32(0), fb = vdupq_n_f32(0);
    if (p->mode == 1) fs = vld1q_f32(p->scale + n), fb = vld1q_f32(p->bias + n);
    if (p->mode == 2) sc = vld1q_s32(p->sign + n), th = vld1q_s32(p->thr + n);
    const uint32x4_t bitv = {1, 2, 4, 8};
    for (int i = 0; i < mr; i++) {
        const int32x4_t dot = vsubq_s32(kv, vshlq_n_s32(vreinterpretq_s32_u32(pop[i]), 1));
        if (p->mode == 0) {
            store4_s32(p->out + (m + i) * p->N + n, dot, nr);
        } else if (p->mode == 1) {
            float32x4_t v = vaddq_f32(vmulq_f32(vcvtq_f32_s32(dot), fs), fb);
            v = vminq_f32(vmaxq_f32(v, vdupq_n_f32(p->lo)), vdupq_n_f32(p->hi));
            store4_f32(p->outf + (m + i) * p->N + n, v, nr);
        } else {
            const uint32x4_t lt = vcltq_s32(vmulq_s32(dot, sc), th);
            const uint32_t nib = vaddvq_u32(vandq_u32(lt, bitv)) & ((1u << nr) - 1);
            p->outb[(m + i) * p->ob + n / 8] |= (uint8_t)(nib << (n % 8));
        }
    }
}

/* Sign/threshold/scale vectors are padded by the binding to a multiple of 4 entries, so the
 * 4-wide loads of an edge tile stay inside them; missing weight rows alias row n. */
void qt_bgemm(const uint8_t *a, const uint8_t *w, int64_t M, int64_t kb, const qt_bin_out *p) {
    const int64_t N = p->N;
    for (int64_t n = 0; n < N; n += 4) {
        const int nr = N - n < 4 ? (int)(N - n) : 4;
        const uint8_t *wr[4];
        for (int j = 0; j < 4; j++) wr[j] = w + (n + (j < nr ? j : 0)) * kb;
        uint32x4_t pop[8];
        int64_t m = 0;
        for (; m + 8 <= M; m += 8) {
            bgemm_tile(a + m * kb, wr, kb, 8, pop);
            bgemm_store(p, pop, m, n, 8, nr);
        }
        for (; m < M; m++) {
            bgemm_tile(a + m * kb, wr, kb, 1, pop);
            bgemm_store(p, pop, m, n, 1, nr);
        }
    }
}

static int popcount8(uint8_t x) {
    int c = 0;
    for (; x; x &= (uint8_t)(x - 1)) c++;
    return c;
}

/* Scalar twin: byte-wise popcount, then the same transforms in plain C. */
void qt_bgemm_ref(const uint8_t *a, const uint8_t *w, int64_t M, int64_t kb, const qt_bin_out *p) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < p->N; n++) {
            int64_t pop = 0;
            for (int64_t k = 0; k < kb; k++) pop += popcount8(a[m * kb + k] ^ w[n * kb + k]);
            const int32_t dot = (int32_t)(p->K - 2 * pop);
            if (p->mode == 0) {
                p->out[m * p->N + n] = dot;
            } else if (p->mode == 1) {
                float v = (float)dot * p->scale[n];
                v = v + p->bias[n];
                v = v < p->lo ? p->lo : v;
                p->outf[m * p->N + n] = v > p->hi ? p->hi : v;
            } else if ((int64_t)dot * p->sign[n] < p->thr[n]) {
                p->outb[m * p->ob + n / 8] |= (uint8_t)(1u << (n % 8));
            }
        }
}
