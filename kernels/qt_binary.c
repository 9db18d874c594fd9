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
#include <string.h>

#include "qt_kernels.h"

#define QT_INLINE static inline __attribute__((always_inline))
#define QT_BIN_WIDEN 1023

/* Tail of K: when the last 128-bit chunk holds t = K % 128 <= 64 real bits (the rest is zero
 * padding in both operands), only its first t bits need counting.  t <= 32: the 4 weight
 * rows' first 32 bits are zipped into one register and each activation row's 32 bits are
 * broadcast (LD1R), so ONE EOR + CNT covers the 4 outputs, already in [o0 x4, o1 x4, o2 x4,
 * o3 x4] byte order; t <= 64: two EOR + CNT and one ADDP.  Either way the 16 bytes feed
 * UADDLP into the u16 layout of the main loop.  K = 129 then costs 1 + 1/4 chunks, not 2. */
QT_INLINE uint32_t load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

QT_INLINE uint64_t load_u64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

QT_INLINE void bgemm_tail(const uint8_t *a, const uint8_t *const w[4], int64_t kb, int64_t off,
                          int tail, int mr, uint16x8_t acc[8]) {
    if (tail == 32) {
        const uint32x4_t wt = {load_u32(w[0] + off), load_u32(w[1] + off), load_u32(w[2] + off),
                               load_u32(w[3] + off)};
        for (int i = 0; i < mr; i++) {
            const uint32x4_t x = vdupq_n_u32(load_u32(a + i * kb + off));
            acc[i] = vpaddlq_u8(vcntq_u8(vreinterpretq_u8_u32(veorq_u32(x, wt))));
        }
    } else {
        const uint64x2_t w01 = {load_u64(w[0] + off), load_u64(w[1] + off)};
        const uint64x2_t w23 = {load_u64(w[2] + off), load_u64(w[3] + off)};
        for (int i = 0; i < mr; i++) {
            const uint64x2_t x = vdupq_n_u64(load_u64(a + i * kb + off));
            const uint8x16_t c01 = vcntq_u8(vreinterpretq_u8_u64(veorq_u64(x, w01)));
            const uint8x16_t c23 = vcntq_u8(vreinterpretq_u8_u64(veorq_u64(x, w23)));
            acc[i] = vpaddlq_u8(vpaddq_u8(c01, c23));
        }
    }
}

/* Chunks [c0, c1) of the main loop: EOR, CNT, ADDP, ADDP, UADALP into the u16 lanes. */
QT_INLINE void bgemm_chunks_c(const uint8_t *a, const uint8_t *const w[4], int64_t kb, int64_t c0,
                              int64_t c1, int mr, uint16x8_t acc[8]) {
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
}

#if defined(__aarch64__) && !defined(QT_NO_ASM)
/* The same loop for a full 8 x 4 tile, register-allocated by hand (GCC spills some of the 8
 * accumulators of the intrinsic version to the stack, depending on the surrounding code):
 * 12 loads, 32 EOR, 32 CNT, 24 ADDP, 8 UADALP, 2 ADD, SUBS + B.NE = 112 instructions per chunk.
 * Exactly the semantics of bgemm_chunks_c (tested against it and the scalar twin). */
#define QT_ROW(A, ACC)                                                                      \
    "eor v24.16b, " A ".16b, v16.16b\n eor v25.16b, " A ".16b, v17.16b\n"                  \
    "eor v26.16b, " A ".16b, v18.16b\n eor v27.16b, " A ".16b, v19.16b\n"                  \
    "cnt v24.16b, v24.16b\n cnt v25.16b, v25.16b\n cnt v26.16b, v26.16b\n"                \
    "cnt v27.16b, v27.16b\n addp v24.16b, v24.16b, v25.16b\n"                              \
    "addp v26.16b, v26.16b, v27.16b\n addp v24.16b, v24.16b, v26.16b\n"                   \
    "uadalp %[" ACC "].8h, v24.16b\n"
/* Two chunks per row with one LDP (rows are contiguous in K): per pair of chunks 4 + 8 LDP,
 * 2 x 96 ALU, 8 ADD (row addresses), SUBS, B.NE = 214 instructions (107 per chunk; an LDP
 * counts as one instruction though it loads two registers).  An odd last chunk takes the
 * intrinsic 1-chunk loop. */
#define QT_ROW2(A, B, ACC)                                                                  \
    QT_ROW3(A, "v16", "v17", "v18", "v19", ACC) QT_ROW3(B, "v28", "v29", "v30", "v31", ACC)
#define QT_ROW3(A, W0, W1, W2, W3, ACC)                                                    \
    "eor v24.16b, " A ".16b, " W0 ".16b\n eor v25.16b, " A ".16b, " W1 ".16b\n"            \
    "eor v26.16b, " A ".16b, " W2 ".16b\n eor v27.16b, " A ".16b, " W3 ".16b\n"            \
    "cnt v24.16b, v24.16b\n cnt v25.16b, v25.16b\n cnt v26.16b, v26.16b\n"                \
    "cnt v27.16b, v27.16b\n addp v24.16b, v24.16b, v25.16b\n"                              \
    "addp v26.16b, v26.16b, v27.16b\n addp v24.16b, v24.16b, v26.16b\n"                   \
    "uadalp %[" ACC "].8h, v24.16b\n"

/* w[j] = w[0] + j * kb here (consecutive weight rows), as in every full tile of bgemm_run. */
static inline __attribute__((always_inline)) void bgemm_chunks_8x4(
    const uint8_t *a, const uint8_t *const w[4], int64_t kb, int64_t c0, int64_t c1,
    uint16x8_t acc[8]) {
    const uint8_t *pa = a + 16 * c0, *pw = w[0] + 16 * c0;
    const uint8_t *pw1 = pw + kb, *pw2 = pw1 + kb, *pw3 = pw2 + kb;
    const int64_t k1 = kb, k2 = 2 * kb;
    int64_t pairs = (c1 - c0) / 2, odd = (c1 - c0) % 2;
    if (pairs > 0)
        __asm__ volatile(
            "1:\n"
            "ldp q16, q28, [%[pw]], #32\n ldp q17, q29, [%[pw1]], #32\n"
            "ldp q18, q30, [%[pw2]], #32\n ldp q19, q31, [%[pw3]], #32\n"
            "add x16, %[pa], %[k1]\n ldp q20, q21, [%[pa]]\n ldp q22, q23, [x16]\n"
            QT_ROW2("v20", "v21", "c0") QT_ROW2("v22", "v23", "c1")
            "add x16, %[pa], %[k2]\n add x17, x16, %[k1]\n ldp q20, q21, [x16]\n"
            "ldp q22, q23, [x17]\n"
            QT_ROW2("v20", "v21", "c2") QT_ROW2("v22", "v23", "c3")
            "add x16, x16, %[k2]\n add x17, x17, %[k2]\n ldp q20, q21, [x16]\n"
            "ldp q22, q23, [x17]\n"
            QT_ROW2("v20", "v21", "c4") QT_ROW2("v22", "v23", "c5")
            "add x16, x16, %[k2]\n add x17, x17, %[k2]\n ldp q20, q21, [x16]\n"
            "ldp q22, q23, [x17]\n add %[pa], %[pa], #32\n"
            QT_ROW2("v20", "v21", "c6") QT_ROW2("v22", "v23", "c7")
            "subs %[n], %[n], #1\n"
            "b.ne 1b\n"
            : [c0] "+w"(acc[0]), [c1] "+w"(acc[1]), [c2] "+w"(acc[2]), [c3] "+w"(acc[3]),
              [c4] "+w"(acc[4]), [c5] "+w"(acc[5]), [c6] "+w"(acc[6]), [c7] "+w"(acc[7]),
              [pa] "+r"(pa), [pw] "+r"(pw), [pw1] "+r"(pw1), [pw2] "+r"(pw2), [pw3] "+r"(pw3),
              [n] "+r"(pairs)
            : [k1] "r"(k1), [k2] "r"(k2)
            : "x16", "x17", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24",
              "v25", "v26", "v27", "v28", "v29", "v30", "v31", "memory", "cc");
    if (odd) /* one chunk: 12 LDR (register offsets), 96 ALU */
        __asm__ volatile(
            "ldr q16, [%[pw]]\n ldr q17, [%[pw1]]\n ldr q18, [%[pw2]]\n ldr q19, [%[pw3]]\n"
            "add x16, %[pa], %[k2]\n add x17, x16, %[k2]\n"
            "ldr q20, [%[pa]]\n ldr q21, [%[pa], %[k1]]\n ldr q22, [x16]\n ldr q23, [x16, %[k1]]\n"
            QT_ROW3("v20", "v16", "v17", "v18", "v19", "c0") QT_ROW3("v21", "v16", "v17", "v18", "v19", "c1")
            QT_ROW3("v22", "v16", "v17", "v18", "v19", "c2") QT_ROW3("v23", "v16", "v17", "v18", "v19", "c3")
            "add x16, x17, %[k2]\n"
            "ldr q20, [x17]\n ldr q21, [x17, %[k1]]\n ldr q22, [x16]\n ldr q23, [x16, %[k1]]\n"
            QT_ROW3("v20", "v16", "v17", "v18", "v19", "c4") QT_ROW3("v21", "v16", "v17", "v18", "v19", "c5")
            QT_ROW3("v22", "v16", "v17", "v18", "v19", "c6") QT_ROW3("v23", "v16", "v17", "v18", "v19", "c7")
            : [c0] "+w"(acc[0]), [c1] "+w"(acc[1]), [c2] "+w"(acc[2]), [c3] "+w"(acc[3]),
              [c4] "+w"(acc[4]), [c5] "+w"(acc[5]), [c6] "+w"(acc[6]), [c7] "+w"(acc[7])
            : [pa] "r"(pa), [pw] "r"(pw), [pw1] "r"(pw1), [pw2] "r"(pw2), [pw3] "r"(pw3),
              [k1] "r"(k1), [k2] "r"(k2)
            : "x16", "x17", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24",
              "v25", "v26", "v27", "memory");
}
#undef QT_ROW2
#undef QT_ROW3
#undef QT_ROW
#define QT_HAVE_ASM 1
#else
#define QT_HAVE_ASM 0
#endif

QT_INLINE void bgemm_chunks(const uint8_t *a, const uint8_t *const w[4], int64_t kb, int64_t c0,
                            int64_t c1, int mr, uint16x8_t acc[8]) {
#if QT_HAVE_ASM
    if (mr == 8) {
        bgemm_chunks_8x4(a, w, kb, c0, c1, acc);
        return;
    }
#endif
    bgemm_chunks_c(a, w, kb, c0, c1, mr, acc);
}

/* Popcounts of a[i] ^ w[j] for i < mr (<= 8), j < 4 over the row: pop[i] lane j.  `tail` is
 * 0 (K a multiple of 128, or more than 64 bits in the last chunk), 32 or 64.  Rows of up to
 * 1023 chunks (K <= 130944) take one widening block, the rest a loop of them (out of the hot
 * path: its extra live registers would otherwise spill the common case). */
QT_INLINE void bgemm_tile(const uint8_t *a, const uint8_t *const w[4], int64_t kb, int tail,
                          int mr, uint32x4_t pop[8]) {
    const int64_t full = kb / 16 - (tail ? 1 : 0), used = tail ? 1 : 0;
    uint16x8_t acc[8];
    if (tail) bgemm_tail(a, w, kb, 16 * full, tail, mr, acc);
    else
        for (int i = 0; i < mr; i++) acc[i] = vdupq_n_u16(0);
    if (full + used <= QT_BIN_WIDEN) {
        bgemm_chunks(a, w, kb, 0, full, mr, acc);
        for (int i = 0; i < mr; i++) pop[i] = vpaddlq_u16(acc[i]);
        return;
    }
    int64_t c = QT_BIN_WIDEN - used;
    bgemm_chunks(a, w, kb, 0, c, mr, acc);
    for (int i = 0; i < mr; i++) pop[i] = vpaddlq_u16(acc[i]);
    for (; c < full; c += QT_BIN_WIDEN) {
        for (int i = 0; i < mr; i++) acc[i] = vdupq_n_u16(0);
        bgemm_chunks(a, w, kb, c, full - c < QT_BIN_WIDEN ? full : c + QT_BIN_WIDEN, mr, acc);
        for (int i = 0; i < mr; i++) pop[i] = vpadalq_u16(pop[i], acc[i]);
    }
}

/* Tile epilogue: dot = K - 2 pop, then the transform of `mode` (0 int32, 1 float, 2 bits)
 * for output rows m..m+mr-1, columns n..n+nr-1.  Full tiles (mr = 8, nr = 4) store straight
 * from registers; edge tiles go through a small buffer. */
QT_INLINE void bgemm_store(const qt_bin_out *p, const int mode, const uint32x4_t pop[8], int64_t m,
                           int64_t n, int mr, int nr) {
    const int64_t N = p->N, ob = p->ob; /* locals: stores through out* cannot change them */
    int32_t *const out = p->out;
    float *const outf = p->outf;
    uint8_t *const outb = p->outb;
    const int32x4_t kv = vdupq_n_s32((int32_t)p->K);
    int32x4_t sc = vdupq_n_s32(0), th = vdupq_n_s32(0);
    float32x4_t fs = vdupq_n_f32(0), fb = vdupq_n_f32(0), lo = vdupq_n_f32(0), hi = lo;
    if (mode == 1) fs = vld1q_f32(p->scale + n), fb = vld1q_f32(p->bias + n);
    if (mode == 1) lo = vdupq_n_f32(p->lo), hi = vdupq_n_f32(p->hi);
    if (mode == 2) sc = vld1q_s32(p->sign + n), th = vld1q_s32(p->thr + n);
    const uint32x4_t bitv = {1, 2, 4, 8};
    for (int i = 0; i < mr; i++) {
        const int32x4_t dot = vsubq_s32(kv, vshlq_n_s32(vreinterpretq_s32_u32(pop[i]), 1));
        int32_t buf[4];
        if (mode == 0) {
            if (nr == 4) vst1q_s32(out + (m + i) * N + n, dot);
            else vst1q_s32(buf, dot);
            for (int j = 0; j < 4 && nr < 4; j++) if (j < nr) out[(m + i) * N + n + j] = buf[j];
        } else if (mode == 1) {
            const float32x4_t v = vminq_f32(vmaxq_f32(vaddq_f32(vmulq_f32(vcvtq_f32_s32(dot), fs), fb), lo), hi);
            if (nr == 4) vst1q_f32(outf + (m + i) * N + n, v);
            else vst1q_s32(buf, vreinterpretq_s32_f32(v));
            for (int j = 0; j < 4 && nr < 4; j++)
                if (j < nr) memcpy(outf + (m + i) * N + n + j, buf + j, 4);
        } else {
            const uint32x4_t lt = vcltq_s32(vmulq_s32(dot, sc), th);
            const uint32_t nib = vaddvq_u32(vandq_u32(lt, bitv)) & ((1u << nr) - 1);
            outb[(m + i) * ob + n / 8] |= (uint8_t)(nib << (n % 8));
        }
    }
}

/* Edge tiles (rows past the last multiple of 8 or columns past the last multiple of 4), one
 * activation row at a time; out of line so the hot loop keeps its registers. */
static __attribute__((noinline)) void bgemm_edge(const uint8_t *a, const uint8_t *w, int64_t m0,
                                                 int64_t m1, int64_t n, int64_t kb,
                                                 const qt_bin_out *p, int tail) {
    const int nr = p->N - n < 4 ? (int)(p->N - n) : 4;
    const uint8_t *wr[4];
    for (int j = 0; j < 4; j++) wr[j] = w + (n + (j < nr ? j : 0)) * kb;
    for (int64_t m = m0; m < m1; m++) {
        uint32x4_t pop[8];
        if (tail == 0) bgemm_tile(a + m * kb, wr, kb, 0, 1, pop);
        else if (tail == 32) bgemm_tile(a + m * kb, wr, kb, 32, 1, pop);
        else bgemm_tile(a + m * kb, wr, kb, 64, 1, pop);
        if (p->mode == 0) bgemm_store(p, 0, pop, m, n, 1, nr);
        else if (p->mode == 1) bgemm_store(p, 1, pop, m, n, 1, nr);
        else bgemm_store(p, 2, pop, m, n, 1, nr);
    }
}

/* One mode, one tail kind: both compile-time constants at every call site (always_inline),
 * so the 8 x 4 tile unrolls and its epilogue has no run-time branches. */
QT_INLINE void bgemm_run(const uint8_t *a, const uint8_t *w, int64_t M, int64_t kb,
                         const qt_bin_out *p, const int mode, const int tail) {
    const int64_t N = p->N, m8 = M - M % 8, n4 = N - N % 4;
    for (int64_t n = 0; n < n4; n += 4) {
        const uint8_t *const wr[4] = {w + n * kb, w + (n + 1) * kb, w + (n + 2) * kb, w + (n + 3) * kb};
        for (int64_t m = 0; m < m8; m += 8) {
            uint32x4_t pop[8];
            bgemm_tile(a + m * kb, wr, kb, tail, 8, pop);
            bgemm_store(p, mode, pop, m, n, 8, 4);
        }
        if (m8 < M) bgemm_edge(a, w, m8, M, n, kb, p, tail);
    }
    if (n4 < N) bgemm_edge(a, w, 0, M, n4, kb, p, tail);
}

#define QT_BGEMM_TAILS(MODE)                                              \
    if (t == 0) bgemm_run(a, w, M, kb, p, MODE, 0);                       \
    else if (t <= 32) bgemm_run(a, w, M, kb, p, MODE, 32);                \
    else bgemm_run(a, w, M, kb, p, MODE, 64);

/* Scale/bias/sign/thr vectors are padded by the binding to a multiple of 4 entries, so the
 * 4-wide loads of an edge tile stay inside them; missing weight rows alias row n. */
void qt_bgemm(const uint8_t *a, const uint8_t *w, int64_t M, int64_t kb, const qt_bin_out *p) {
    const int64_t rem = p->K % 128;
    /* the tail path only when the last chunk of the row is the one holding bit K - 1 */
    const int t = (rem == 0 || rem > 64 || (p->K + 127) / 128 != kb / 16) ? 0 : (int)rem;
    if (p->mode == 0) { QT_BGEMM_TAILS(0) }
    else if (p->mode == 1) { QT_BGEMM_TAILS(1) }
    else { QT_BGEMM_TAILS(2) }
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
