/* float32 baselines for the AArch64 instruction counts (driver only, not in the extension).
 *
 * f32_naive: i-k-j loop over a K x N right operand (auto-vectorised AXPY, ~0.5 MACs/instr).
 * f32_neon:  8 x 8 register-blocked GEMM on packed panels, the way a real float GEMM runs:
 *            A packed into panels of 8 rows, k-major (f32_pack_a, counted: activations), B
 *            (weights) pre-packed into panels of 8 columns.  Per k: 4 loads + 16 FMLA (lane-
 *            indexed) for 64 MACs.  M and N must be multiples of 8.
 */
#include "qt_kernels.h"

void f32_naive(const float *restrict a, const float *restrict b, int64_t M, int64_t N, int64_t K,
               float *restrict c) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++) {
            const float s = a[m * K + k];
            for (int64_t n = 0; n < N; n++) c[m * N + n] += s * b[k * N + n];
        }
}

/* 4 x 4 transpose of rows r[0..3] (4 consecutive k each) stored as 4 k-major quads. */
static inline void transpose4_store(const float32x4_t r[4], float *dst, int64_t stride) {
    const float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
    const float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
    const float64x2_t u0 = vreinterpretq_f64_f32(t0), u1 = vreinterpretq_f64_f32(t1);
    const float64x2_t u2 = vreinterpretq_f64_f32(t2), u3 = vreinterpretq_f64_f32(t3);
    vst1q_f32(dst, vreinterpretq_f32_f64(vtrn1q_f64(u0, u2)));
    vst1q_f32(dst + stride, vreinterpretq_f32_f64(vtrn1q_f64(u1, u3)));
    vst1q_f32(dst + 2 * stride, vreinterpretq_f32_f64(vtrn2q_f64(u0, u2)));
    vst1q_f32(dst + 3 * stride, vreinterpretq_f32_f64(vtrn2q_f64(u1, u3)));
}

/* a (M x K row-major, K % 4 == 0) -> panels ap[(m / 8) * K * 8 + k * 8 + m % 8], by 4 x 4
 * NEON transposes (about one instruction per element, as a real GEMM's packing). */
void f32_pack_a(const float *a, int64_t M, int64_t K, float *ap) {
    for (int64_t m0 = 0; m0 < M; m0 += 8)
        for (int64_t k = 0; k < K; k += 4)
            for (int h = 0; h < 2; h++) {
                float32x4_t r[4];
                for (int i = 0; i < 4; i++) r[i] = vld1q_f32(a + (m0 + 4 * h + i) * K + k);
                transpose4_store(r, ap + m0 * K + k * 8 + 4 * h, 8);
            }
}

void f32_neon(const float *ap, const float *bp, int64_t M, int64_t N, int64_t K, float *c) {
    for (int64_t m0 = 0; m0 < M; m0 += 8)
        for (int64_t n0 = 0; n0 < N; n0 += 8) {
            const float *pa = ap + m0 * K, *pb = bp + n0 * K;
            float32x4_t acc[8][2];
            for (int i = 0; i < 8; i++) acc[i][0] = acc[i][1] = vdupq_n_f32(0);
            for (int64_t k = 0; k < K; k++, pa += 8, pb += 8) {
                const float32x4_t a0 = vld1q_f32(pa), a1 = vld1q_f32(pa + 4);
                const float32x4_t b0 = vld1q_f32(pb), b1 = vld1q_f32(pb + 4);
#define QT_FMA_ROW(I, AV, L)                                        \
    acc[I][0] = vfmaq_laneq_f32(acc[I][0], b0, AV, L);              \
    acc[I][1] = vfmaq_laneq_f32(acc[I][1], b1, AV, L);
                QT_FMA_ROW(0, a0, 0) QT_FMA_ROW(1, a0, 1) QT_FMA_ROW(2, a0, 2) QT_FMA_ROW(3, a0, 3)
                QT_FMA_ROW(4, a1, 0) QT_FMA_ROW(5, a1, 1) QT_FMA_ROW(6, a1, 2) QT_FMA_ROW(7, a1, 3)
#undef QT_FMA_ROW
            }
            for (int i = 0; i < 8; i++) {
                vst1q_f32(c + (m0 + i) * N + n0, acc[i][0]);
                vst1q_f32(c + (m0 + i) * N + n0 + 4, acc[i][1]);
            }
        }
}
