/* Activation packing in C (what the benchmarks count for our kernels, as gemmlowp counts its
 * own): sign bits and bit planes in the layout of quanttheory/packing.py (LSB first, rows
 * zero-padded to kb bytes, kb a multiple of 16).
 *
 * 128 elements -> 16 bytes: 8 loads, 8 compares/tests, 8 ANDs with the bit weights
 * {1, 2, ..., 128} and a 7-ADDP tree (disjoint bits, so the adds are ORs), one store.
 */
#include <string.h>

#include "qt_kernels.h"

#define QT_INLINE static inline __attribute__((always_inline))

/* 16 bytes whose byte j holds bits (mask[8j + t] & 1) << t: ADDP tree over 8 masked vectors. */
QT_INLINE uint8x16_t gather_bits(const uint8x16_t m[8]) {
    static const uint8_t wts[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t wv = vld1q_u8(wts);
    uint8x16_t v[8];
    for (int i = 0; i < 8; i++) v[i] = vandq_u8(m[i], wv);
    for (int i = 0; i < 4; i++) v[i] = vpaddq_u8(v[2 * i], v[2 * i + 1]);
    for (int i = 0; i < 2; i++) v[i] = vpaddq_u8(v[2 * i], v[2 * i + 1]);
    return vpaddq_u8(v[0], v[1]);
}

/* Scalar bit j of byte k/8 for the K % 128 tail. */
static void tail_bits(const int8_t *s, int64_t k0, int64_t K, int shift, int sign, uint8_t *d) {
    for (int64_t k = k0; k < K; k++) {
        const int bit = sign ? s[k] < 0 : ((uint8_t)s[k] >> shift) & 1;
        d[k / 8] |= (uint8_t)(bit << (k % 8));
    }
}

/* x (rows x K int8, values +-1 or any sign) -> bit 1 where x < 0. */
void qt_pack_signs(const int8_t *src, int64_t rows, int64_t K, int64_t kb, uint8_t *dst) {
    for (int64_t r = 0; r < rows; r++) {
        const int8_t *s = src + r * K;
        uint8_t *d = dst + r * kb;
        memset(d, 0, (size_t)kb);
        int64_t k = 0;
        for (; k + 128 <= K; k += 128) {
            uint8x16_t m[8];
            for (int i = 0; i < 8; i++) m[i] = vcltzq_s8(vld1q_s8(s + k + 16 * i));
            vst1q_u8(d + k / 8, gather_bits(m));
        }
        tail_bits(s, k, K, 0, 1, d);
    }
}

/* Unsigned codes (rows x K bytes) -> `bits` planes, plane-major: plane i of row r at
 * dst + (i * rows + r) * kb. */
void qt_pack_planes(const uint8_t *src, int64_t rows, int64_t K, int64_t kb, int64_t bits,
                    uint8_t *dst) {
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *s = src + r * K;
        for (int64_t i = 0; i < bits; i++) memset(dst + (i * rows + r) * kb, 0, (size_t)kb);
        int64_t k = 0;
        for (; k + 128 <= K; k += 128) {
            uint8x16_t x[8];
            for (int j = 0; j < 8; j++) x[j] = vld1q_u8(s + k + 16 * j);
            for (int64_t i = 0; i < bits; i++) {
                uint8x16_t m[8];
                const uint8x16_t b = vdupq_n_u8((uint8_t)(1u << i));
                for (int j = 0; j < 8; j++) m[j] = vtstq_u8(x[j], b);
                vst1q_u8(dst + (i * rows + r) * kb + k / 8, gather_bits(m));
            }
        }
        for (int64_t i = 0; i < bits; i++)
            tail_bits((const int8_t *)s, k, K, (int)i, 0, dst + (i * rows + r) * kb);
    }
}
