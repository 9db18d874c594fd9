/* APoT shift-add GEMM (Li, Dong, Wang, ICLR 2020, §2: a product with an APoT level is a sum of
 * shifts, so no multiplier is needed).  Weight w = sign * (2^e1 + 2^e2), an absent term has
 * shift -16 (an arithmetic right shift of a non-negative int16 lane by 16 is 0); activations
 * are unsigned codes (0..255, one per byte).  Per 8 products: SSHL, SSHL, ADD, then the sign
 * by EOR with the mask s in {0, -1} ((t ^ s) - s = +-t; the -s terms are the number of
 * negative weights of the row, negc[n], added once), and SADDW/SADDW2 into int32 lanes (exact
 * for any K the binding accepts).  This shows the multiplier-free form on a CPU that HAS a
 * multiplier, to compare with the codebook kernels (TBL decode + SMLAL, or SDOT).
 */
#include "qt_kernels.h"

#define QT_INLINE static inline __attribute__((always_inline))

QT_INLINE int32_t shiftadd_tail(const uint8_t *a, const int16_t *e1, const int16_t *e2,
                                const int16_t *sg, int64_t k0, int64_t K) {
    int32_t s = 0;
    for (int64_t k = k0; k < K; k++) {
        const int32_t t = (e1[k] >= 0 ? a[k] << e1[k] : 0) + (e2[k] >= 0 ? a[k] << e2[k] : 0);
        s += sg[k] ? -t : t;
    }
    return s;
}

/* 1 x 4 outputs: one activation load + widen shared by 4 weight rows. */
QT_INLINE void shiftadd_1x4(const uint8_t *a, const int16_t *e1, const int16_t *e2,
                            const int16_t *sg, const int32_t *negc, int64_t K, int nr,
                            int32_t *out) {
    int32x4_t lo[4], hi[4];
    for (int j = 0; j < nr; j++) lo[j] = hi[j] = vdupq_n_s32(0);
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        const int16x8_t x = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(a + k)));
        for (int j = 0; j < nr; j++) {
            const int16x8_t t = vaddq_s16(vshlq_s16(x, vld1q_s16(e1 + j * K + k)),
                                          vshlq_s16(x, vld1q_s16(e2 + j * K + k)));
            const int16x8_t v = veorq_s16(t, vld1q_s16(sg + j * K + k));
            lo[j] = vaddw_s16(lo[j], vget_low_s16(v));
            hi[j] = vaddw_high_s16(hi[j], v);
        }
    }
    for (int j = 0; j < nr; j++)
        out[j] = vaddvq_s32(vaddq_s32(lo[j], hi[j])) + negc[j] +
                 shiftadd_tail(a, e1 + j * K, e2 + j * K, sg + j * K, k, K);
}

/* negc[n] = number of negative weights of row n among its first 8 * floor(K / 8) entries
 * (the -s terms of the vector part; the K % 8 tail is exact in scalar). */
void qt_shiftadd_gemm(const uint8_t *a, const int16_t *e1, const int16_t *e2, const int16_t *sg,
                      const int32_t *negc, int64_t M, int64_t N, int64_t K, int32_t *out) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n += 4) {
            const int nr = N - n < 4 ? (int)(N - n) : 4;
            int32_t tmp[4];
            shiftadd_1x4(a + m * K, e1 + n * K, e2 + n * K, sg + n * K, negc + n, K, nr, tmp);
            for (int j = 0; j < nr; j++) out[m * N + n + j] = tmp[j];
        }
}

/* Scalar twin: the products as sums of shifts, in int64. */
void qt_shiftadd_gemm_ref(const uint8_t *a, const int16_t *e1, const int16_t *e2,
                          const int16_t *sg, const int32_t *negc, int64_t M, int64_t N, int64_t K,
                          int32_t *out) {
    (void)negc;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            int64_t s = 0;
            for (int64_t k = 0; k < K; k++) {
                const int64_t x = a[m * K + k], i = n * K + k;
                const int64_t t = (e1[i] >= 0 ? x << e1[i] : 0) + (e2[i] >= 0 ? x << e2[i] : 0);
                s += sg[i] ? -t : t;
            }
            out[m * N + n] = (int32_t)s;
        }
}
