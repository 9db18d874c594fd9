/* Plain-C scalar twins of every kernel (second reference; same signatures, same outputs).
 * They share no code with the NEON versions; the narrow twin models the wrapped int8/int16
 * lanes explicitly so that it also agrees where the flush interval is unsafe. */
#include "qt_kernels.h"

static int popcount8(uint8_t x) {
    int c = 0;
    for (; x; x &= (uint8_t)(x - 1)) c++;
    return c;
}

void qt_binary_gemm_ref(const uint8_t *a, const uint8_t *w, int64_t M, int64_t N, int64_t K,
                        int64_t kb, int32_t *out) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            int64_t pop = 0;
            for (int64_t k = 0; k < kb; k++) pop += popcount8(a[m * kb + k] ^ w[n * kb + k]);
            out[m * N + n] = (int32_t)(K - 2 * pop);
        }
}

void qt_bitserial_gemm_ref(const uint8_t *a, const uint8_t *w, int64_t M, int64_t N,
                           int64_t kb, int64_t ba, int64_t bw, int32_t *out) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            int64_t s = 0;
            for (int64_t i = 0; i < ba; i++)
                for (int64_t j = 0; j < bw; j++)
                    for (int64_t k = 0; k < kb; k++)
                        s += (int64_t)popcount8(a[(i * M + m) * kb + k] & w[(j * N + n) * kb + k])
                             << (i + j);
            out[m * N + n] = (int32_t)s;
        }
}

/* Wrap to a signed lane of `bits` bits via unsigned arithmetic (no signed-overflow UB). */
static int64_t wrap(int64_t v, int64_t bits) {
    const uint64_t mask = (1ULL << bits) - 1, sign = 1ULL << (bits - 1);
    const uint64_t u = (uint64_t)v & mask;
    return (u & sign) ? (int64_t)u - (int64_t)(mask + 1) : (int64_t)u;
}

static int64_t narrow_dot(const int8_t *a, const int8_t *w, int64_t K, int64_t lane,
                          int64_t flush) {
    const int64_t chunks = K / 16;
    int64_t total = 0;
    for (int64_t c0 = 0; c0 < chunks; c0 += flush) {
        const int64_t c1 = c0 + flush < chunks ? c0 + flush : chunks;
        for (int l = 0; l < 16; l++) { /* lane l holds element 16c + l of every chunk c */
            int64_t acc = 0;
            for (int64_t c = c0; c < c1; c++)
                acc = wrap(acc + (int64_t)a[16 * c + l] * w[16 * c + l], lane);
            total += acc;
        }
    }
    for (int64_t k = 16 * chunks; k < K; k++) total += (int64_t)a[k] * w[k];
    return total;
}

void qt_narrow_gemm_ref(const int8_t *a, const int8_t *w, int64_t M, int64_t N, int64_t K,
                        int64_t lane, int64_t flush, int32_t *out) {
    if (flush < 1 || (lane != 8 && lane != 16)) return;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++)
            out[m * N + n] = (int32_t)narrow_dot(a + m * K, w + n * K, K, lane, flush);
}

void qt_codebook_gemm_ref(const uint8_t *a, const uint8_t *w, const int8_t *ta,
                          const int8_t *tw, int64_t M, int64_t N, int64_t K, int64_t flush,
                          int32_t *out) {
    (void)flush; /* exact in int64 whatever the lane schedule of the SIMD kernel */
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            int64_t s = 0;
            for (int64_t k = 0; k < K; k++) {
                const uint8_t ia = a[m * K + k], iw = w[n * K + k];
                s += (int64_t)(ia < 16 ? ta[ia] : 0) * (iw < 16 ? tw[iw] : 0);
            }
            out[m * N + n] = (int32_t)s;
        }
}
