/* Byte-code GEMMs, NEON: the DSQ-style narrow-accumulation kernel and the codebook (TBL)
 * kernel.  Both are register-blocked (narrow: 4 x 4 or 2 x 4 tiles; codebook: 2 x 4) over
 * 16-byte chunks of K; the K % 16 tail is added exactly in scalar int32 by the kernel and its
 * twin alike.
 *
 * Narrow accumulation (DSQ, Gong et al. ICCV 2019, ARM deployment section): products of b-bit codes
 * are multiply-accumulated in int8 lanes (MLA, lane = 8) or int16 lanes (SMLAL, lane = 16)
 * for `flush` chunks, then widened into int32 lanes (SADDLP + SADALP, or SADALP).  Narrow
 * lanes wrap modulo 2^lane, so the result is exact iff flush * max|product| fits the lane;
 * the interval is chosen and enforced by the Python binding, and the tests run it at the
 * limit (exact) and at the limit + 1 with worst-case codes (wraps, as the model predicts).
 *
 * Codebook (APoT, Li et al. ICLR 2020 Eq. 5; QN, Yang et al. CVPR 2019 Eq. 1): 4-bit indices
 * decoded with TBL (vqtbl1q_s8) into int8 levels on a common integer grid, then the same
 * narrow accumulation in int16 lanes (SMLAL), flushed every `flush` chunks; the binding
 * sets flush = floor(32767 / (max|T_a| max|T_w|)) >= 1 (|product| <= 128^2 always fits).
 */
#include "qt_kernels.h"

#define QT_INLINE static inline __attribute__((always_inline))

QT_INLINE int32_t tail_dot(const int8_t *a, const int8_t *w, int64_t k0, int64_t K) {
    int32_t s = 0;
    for (int64_t k = k0; k < K; k++) s += (int32_t)a[k] * (int32_t)w[k];
    return s;
}

/* One chunk of SMLAL/SMLAL2: every (i, j) pair of the tile multiply-accumulates the low and
 * high halves of its int8 rows into int16 lanes.  Shared by the narrow int16 kernel and the
 * codebook kernel, which differ only in how va/vw are loaded (plain load vs TBL decode). */
QT_INLINE void smlal_tile(const int8x16_t *va, const int8x16_t *vw, int mr, int nr,
                          int16x8_t (*lo)[4], int16x8_t (*hi)[4]) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            lo[i][j] = vmlal_s8(lo[i][j], vget_low_s8(va[i]), vget_low_s8(vw[j]));
            hi[i][j] = vmlal_high_s8(hi[i][j], va[i], vw[j]);
        }
}

/* Widen the int16 lanes of a tile into its int32 accumulators (SADALP twice). */
QT_INLINE void widen_s16_tile(int mr, int nr, int16x8_t (*lo)[4], int16x8_t (*hi)[4],
                              int32x4_t (*acc32)[4]) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++)
            acc32[i][j] = vpadalq_s16(vpadalq_s16(acc32[i][j], lo[i][j]), hi[i][j]);
}

/* MR x NR outputs; MR, NR compile-time at the call sites so the accumulators live in
 * registers: int8 lanes use 4 x 4 tiles (16 accumulators), int16 lanes 2 x 4 (16 lo/hi
 * pairs would not fit 4 x 4). */
QT_INLINE void narrow_tile(const int8_t *a, const int8_t *w, int64_t K, int64_t lane,
                           int64_t flush, int mr, int nr, int32x4_t acc32[4][4]) {
    const int64_t chunks = K / 16;
    for (int64_t c0 = 0; c0 < chunks; c0 += flush) {
        const int64_t c1 = c0 + flush < chunks ? c0 + flush : chunks;
        if (lane == 8) {
            int8x16_t acc8[4][4];
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++) acc8[i][j] = vdupq_n_s8(0);
            for (int64_t c = c0; c < c1; c++) {
                int8x16_t va[4], vw[4];
                for (int i = 0; i < mr; i++) va[i] = vld1q_s8(a + i * K + 16 * c);
                for (int j = 0; j < nr; j++) vw[j] = vld1q_s8(w + j * K + 16 * c);
                for (int i = 0; i < mr; i++)
                    for (int j = 0; j < nr; j++) acc8[i][j] = vmlaq_s8(acc8[i][j], va[i], vw[j]);
            }
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++)
                    acc32[i][j] = vpadalq_s16(acc32[i][j], vpaddlq_s8(acc8[i][j]));
        } else {
            int16x8_t lo[4][4], hi[4][4];
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++) lo[i][j] = hi[i][j] = vdupq_n_s16(0);
            for (int64_t c = c0; c < c1; c++) {
                int8x16_t va[4], vw[4];
                for (int i = 0; i < mr; i++) va[i] = vld1q_s8(a + i * K + 16 * c);
                for (int j = 0; j < nr; j++) vw[j] = vld1q_s8(w + j * K + 16 * c);
                smlal_tile(va, vw, mr, nr, lo, hi);
            }
            widen_s16_tile(mr, nr, lo, hi, acc32);
        }
    }
}

QT_INLINE void narrow_store(const int8_t *a, const int8_t *w, int64_t N, int64_t K,
                            int64_t lane, int64_t flush, int mr, int nr, int32_t *out) {
    int32x4_t acc32[4][4];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) acc32[i][j] = vdupq_n_s32(0);
    narrow_tile(a, w, K, lane, flush, mr, nr, acc32);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++)
            out[i * N + j] = vaddvq_s32(acc32[i][j]) +
                             tail_dot(a + i * K, w + j * K, K - K % 16, K);
}

void qt_narrow_gemm(const int8_t *a, const int8_t *w, int64_t M, int64_t N, int64_t K,
                    int64_t lane, int64_t flush, int32_t *out) {
    if (flush < 1 || (lane != 8 && lane != 16)) return; /* unreachable after validation */
    const int64_t mr = lane == 8 ? 4 : 2;
    int64_t m = 0;
    for (; m + mr <= M; m += mr) {
        int64_t n = 0;
        for (; n + 4 <= N; n += 4) {
            if (lane == 8)
                narrow_store(a + m * K, w + n * K, N, K, 8, flush, 4, 4, out + m * N + n);
            else
                narrow_store(a + m * K, w + n * K, N, K, 16, flush, 2, 4, out + m * N + n);
        }
        for (; n < N; n++)
            for (int64_t i = 0; i < mr; i++)
                narrow_store(a + (m + i) * K, w + n * K, N, K, lane, flush, 1, 1, out + (m + i) * N + n);
    }
    for (; m < M; m++) {
        int64_t n = 0;
        for (; n + 4 <= N; n += 4)
            narrow_store(a + m * K, w + n * K, N, K, lane, flush, 1, 4, out + m * N + n);
        for (; n < N; n++) narrow_store(a + m * K, w + n * K, N, K, lane, flush, 1, 1, out + m * N + n);
    }
}

/* MR x 4 tile: TBL-decode MR activation rows and 4 weight rows per chunk, SMLAL/SMLAL2 into
 * int16 lanes, widened (SADALP) into int32 every `flush` chunks. */
QT_INLINE void codebook_tile(const uint8_t *a, const uint8_t *w, int8x16_t ta, int8x16_t tw,
                             int64_t K, int64_t flush, int mr, int nr, int32x4_t acc32[2][4]) {
    const int64_t chunks = K / 16;
    for (int64_t c0 = 0; c0 < chunks; c0 += flush) {
        const int64_t c1 = c0 + flush < chunks ? c0 + flush : chunks;
        int16x8_t lo[2][4], hi[2][4];
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++) lo[i][j] = hi[i][j] = vdupq_n_s16(0);
        for (int64_t c = c0; c < c1; c++) {
            int8x16_t va[2], vw[4];
            for (int i = 0; i < mr; i++) va[i] = vqtbl1q_s8(ta, vld1q_u8(a + i * K + 16 * c));
            for (int j = 0; j < nr; j++) vw[j] = vqtbl1q_s8(tw, vld1q_u8(w + j * K + 16 * c));
            smlal_tile(va, vw, mr, nr, lo, hi);
        }
        widen_s16_tile(mr, nr, lo, hi, acc32);
    }
}

QT_INLINE int32_t codebook_tail(const uint8_t *a, const uint8_t *w, const int8_t *ta,
                                const int8_t *tw, int64_t k0, int64_t K) {
    int32_t s = 0;
    for (int64_t k = k0; k < K; k++)
        s += (int32_t)(a[k] < 16 ? ta[a[k]] : 0) * (int32_t)(w[k] < 16 ? tw[w[k]] : 0);
    return s;
}

QT_INLINE void codebook_store(const uint8_t *a, const uint8_t *w, const int8_t *ta,
                              const int8_t *tw, int64_t N, int64_t K, int64_t flush, int mr,
                              int nr, int32_t *out) {
    int32x4_t acc32[2][4];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) acc32[i][j] = vdupq_n_s32(0);
    codebook_tile(a, w, vld1q_s8(ta), vld1q_s8(tw), K, flush, mr, nr, acc32);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++)
            out[i * N + j] = vaddvq_s32(acc32[i][j]) +
                             codebook_tail(a + i * K, w + j * K, ta, tw, K - K % 16, K);
}

void qt_codebook_gemm(const uint8_t *a, const uint8_t *w, const int8_t *ta, const int8_t *tw,
                      int64_t M, int64_t N, int64_t K, int64_t flush, int32_t *out) {
    if (flush < 1) return; /* unreachable after validation; never loop forever */
    int64_t m = 0;
    for (; m + 2 <= M; m += 2) {
        int64_t n = 0;
        for (; n + 4 <= N; n += 4)
            codebook_store(a + m * K, w + n * K, ta, tw, N, K, flush, 2, 4, out + m * N + n);
        for (; n < N; n++)
            codebook_store(a + m * K, w + n * K, ta, tw, N, K, flush, 2, 1, out + m * N + n);
    }
    if (m < M) {
        int64_t n = 0;
        for (; n + 4 <= N; n += 4)
            codebook_store(a + m * K, w + n * K, ta, tw, N, K, flush, 1, 4, out + m * N + n);
        for (; n < N; n++)
            codebook_store(a + m * K, w + n * K, ta, tw, N, K, flush, 1, 1, out + m * N + n);
    }
}
