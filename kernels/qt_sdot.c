/* int8 GEMM by SDOT (ARMv8.2 dot product; SIMDe elsewhere): the int8 baseline every low-bit
 * kernel is compared with, and the exact path of the narrow (2-4-bit codes) and codebook
 * (levels decoded once) GEMMs.  (Design after ruy's dotprod kernels; no code taken.)
 *
 * Rows are kp bytes long, kp a multiple of 16, zero-padded past K (qt_pad_rows), so there is
 * no scalar K tail.  4 x 4 tiles: per 16 bytes of K, 8 loads and 16 SDOT (each 16 MACs into
 * 4 int32 lanes), i.e. 256 MACs per 24 instructions; at the end ADDP(ADDP(o0, o1), ADDP(o2,
 * o3)) leaves the 4 outputs of a row in one register.  int32 lanes are exact while
 * K * 128^2 <= 2^31 - 1 (K <= 131071, checked by the binding): no flush logic at all.
 */
#if defined(__aarch64__) && !defined(__ARM_FEATURE_DOTPROD)
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif
#include <string.h>

#include "qt_kernels.h"
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#define QT_INLINE static inline __attribute__((always_inline))

int qt_has_dotprod(void) {
#if defined(__aarch64__) && defined(__linux__)
    return (getauxval(AT_HWCAP) & (1UL << 20)) != 0; /* HWCAP_ASIMDDP */
#else
    return 1; /* SIMDe emulates SDOT */
#endif
}

QT_INLINE void sdot_tile(const int8_t *a, const int8_t *const w[4], int64_t kp, int mr,
                         int32x4_t res[4]) {
    int32x4_t acc[4][4];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = vdupq_n_s32(0);
    for (int64_t off = 0; off < kp; off += 16) {
        const int8x16_t w0 = vld1q_s8(w[0] + off), w1 = vld1q_s8(w[1] + off);
        const int8x16_t w2 = vld1q_s8(w[2] + off), w3 = vld1q_s8(w[3] + off);
        for (int i = 0; i < mr; i++) {
            const int8x16_t x = vld1q_s8(a + i * kp + off);
            acc[i][0] = vdotq_s32(acc[i][0], x, w0);
            acc[i][1] = vdotq_s32(acc[i][1], x, w1);
            acc[i][2] = vdotq_s32(acc[i][2], x, w2);
            acc[i][3] = vdotq_s32(acc[i][3], x, w3);
        }
    }
    for (int i = 0; i < mr; i++)
        res[i] = vpaddq_s32(vpaddq_s32(acc[i][0], acc[i][1]), vpaddq_s32(acc[i][2], acc[i][3]));
}

QT_INLINE void sdot_store(int32_t *dst, int32x4_t v, int nr) {
    if (nr == 4) { vst1q_s32(dst, v); return; }
    int32_t tmp[4];
    vst1q_s32(tmp, v);
    for (int j = 0; j < nr; j++) dst[j] = tmp[j];
}

void qt_sdot_gemm(const int8_t *a, const int8_t *w, int64_t M, int64_t N, int64_t kp,
                  int32_t *out) {
    for (int64_t n = 0; n < N; n += 4) {
        const int nr = N - n < 4 ? (int)(N - n) : 4;
        const int8_t *wr[4];
        for (int j = 0; j < 4; j++) wr[j] = w + (n + (j < nr ? j : 0)) * kp;
        int32x4_t res[4];
        int64_t m = 0;
        for (; m + 4 <= M; m += 4) {
            sdot_tile(a + m * kp, wr, kp, 4, res);
            for (int i = 0; i < 4; i++) sdot_store(out + (m + i) * N + n, res[i], nr);
        }
        for (; m < M; m++) {
            sdot_tile(a + m * kp, wr, kp, 1, res);
            sdot_store(out + m * N + n, res[0], nr);
        }
    }
}

void qt_sdot_gemm_ref(const int8_t *a, const int8_t *w, int64_t M, int64_t N, int64_t kp,
                      int32_t *out) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            int64_t s = 0;
            for (int64_t k = 0; k < kp; k++) s += (int64_t)a[m * kp + k] * w[n * kp + k];
            out[m * N + n] = (int32_t)s;
        }
}

/* Activation packing for the SDOT path (counted in the benchmarks): rows of K int8 codes
 * copied into rows of kp bytes, zero-padded. */
void qt_pad_rows(const int8_t *src, int64_t rows, int64_t K, int64_t kp, int8_t *dst) {
    for (int64_t r = 0; r < rows; r++) {
        memcpy(dst + r * kp, src + r * K, (size_t)K);
        memset(dst + r * kp + K, 0, (size_t)(kp - K));
    }
}

/* Codebook activation packing: 4-bit indices (one per byte, rows of K) decoded by TBL into
 * int8 levels, rows of kp bytes zero-padded.  Index >= 16 decodes to 0 as TBL does. */
void qt_decode_rows(const uint8_t *src, int64_t rows, int64_t K, int64_t kp, const int8_t *table,
                    int8_t *dst) {
    const int8x16_t t = vld1q_s8(table);
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *s = src + r * K;
        int8_t *d = dst + r * kp;
        int64_t k = 0;
        for (; k + 16 <= K; k += 16) vst1q_s8(d + k, vqtbl1q_s8(t, vld1q_u8(s + k)));
        for (; k < K; k++) d[k] = s[k] < 16 ? table[s[k]] : 0;
        for (; k < kp; k++) d[k] = 0;
    }
}
