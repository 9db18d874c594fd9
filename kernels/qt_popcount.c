/* Popcount GEMMs: binary (xor-popcount) and bit-serial (and-popcount) kernels, NEON.
 *
 * Inner step for one 128-bit chunk: EOR/AND, CNT (vcntq_u8, per-byte popcount <= 8), UADALP
 * (vpadalq_u8, pairwise widening add into u16 lanes, +16 at most per chunk).  u16 lanes are
 * reduced into 64-bit scalars every QT_POP_FLUSH chunks, which is the whole overflow story:
 * the final popcount of a row pair is <= K, and the Python side checks K against int32.
 *
 * Register blocking: the binary kernel computes 2 x 4 outputs per pass (6 loads, 8 EOR, 8
 * CNT, 8 UADALP per chunk = 1024 bit-MACs per 30 instructions); edges use the same tile
 * code with smaller (mr, nr).
 */
#include "qt_kernels.h"

const char *qt_backend(void) { return QT_BACKEND; }

#define QT_INLINE static inline __attribute__((always_inline))

/* popcounts of a[i] ^ w[j] for an mr x nr tile, accumulated over kb bytes into pop[i][j]. */
QT_INLINE void bin_tile(const uint8_t *a, const uint8_t *w, int64_t kb, int mr, int nr,
                        uint64_t pop[2][4]) {
    const int64_t chunks = kb / 16;
    for (int64_t c0 = 0; c0 < chunks; c0 += QT_POP_FLUSH) {
        const int64_t c1 = c0 + QT_POP_FLUSH < chunks ? c0 + QT_POP_FLUSH : chunks;
        uint16x8_t acc[2][4];
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++) acc[i][j] = vdupq_n_u16(0);
        for (int64_t c = c0; c < c1; c++) {
            uint8x16_t va[2], vw[4];
            for (int i = 0; i < mr; i++) va[i] = vld1q_u8(a + i * kb + 16 * c);
            for (int j = 0; j < nr; j++) vw[j] = vld1q_u8(w + j * kb + 16 * c);
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++)
                    acc[i][j] = vpadalq_u8(acc[i][j], vcntq_u8(veorq_u8(va[i], vw[j])));
        }
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++) pop[i][j] += vaddlvq_u16(acc[i][j]);
    }
}

QT_INLINE void bin_store(const uint8_t *a, const uint8_t *w, int64_t N, int64_t K, int64_t kb,
                         int mr, int nr, int32_t *out) {
    uint64_t pop[2][4] = {{0}};
    bin_tile(a, w, kb, mr, nr, pop);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) out[i * N + j] = (int32_t)(K - 2 * (int64_t)pop[i][j]);
}

void qt_binary_gemm(const uint8_t *a, const uint8_t *w, int64_t M, int64_t N, int64_t K,
                    int64_t kb, int32_t *out) {
    for (int64_t m = 0; m < M; m += 2) {
        const int mr = M - m >= 2 ? 2 : 1;
        int64_t n = 0;
        for (; n + 4 <= N; n += 4) {
            if (mr == 2)
                bin_store(a + m * kb, w + n * kb, N, K, kb, 2, 4, out + m * N + n);
            else
                bin_store(a + m * kb, w + n * kb, N, K, kb, 1, 4, out + m * N + n);
        }
        for (; n < N; n++) bin_store(a + m * kb, w + n * kb, N, K, kb, mr, 1, out + m * N + n);
    }
}

/* One output of the bit-serial GEMM: ba x bw plane pairs, each with its own u16 lanes, so
 * the weights 2^(i+j) are applied only once per flush, in 64-bit scalars. */
QT_INLINE uint64_t bs_one(const uint8_t *a, const uint8_t *w, int64_t sa, int64_t sw,
                          int64_t kb, int ba, int bw) {
    const int64_t chunks = kb / 16;
    uint64_t total = 0;
    for (int64_t c0 = 0; c0 < chunks; c0 += QT_POP_FLUSH) {
        const int64_t c1 = c0 + QT_POP_FLUSH < chunks ? c0 + QT_POP_FLUSH : chunks;
        uint16x8_t acc[4][4];
        for (int i = 0; i < ba; i++)
            for (int j = 0; j < bw; j++) acc[i][j] = vdupq_n_u16(0);
        for (int64_t c = c0; c < c1; c++) {
            uint8x16_t va[4], vw[4];
            for (int i = 0; i < ba; i++) va[i] = vld1q_u8(a + i * sa + 16 * c);
            for (int j = 0; j < bw; j++) vw[j] = vld1q_u8(w + j * sw + 16 * c);
            for (int i = 0; i < ba; i++)
                for (int j = 0; j < bw; j++)
                    acc[i][j] = vpadalq_u8(acc[i][j], vcntq_u8(vandq_u8(va[i], vw[j])));
        }
        for (int i = 0; i < ba; i++)
            for (int j = 0; j < bw; j++) total += (uint64_t)vaddlvq_u16(acc[i][j]) << (i + j);
    }
    return total;
}

/* Specialise on (ba, bw) so the plane loops unroll and the accumulators stay in registers. */
#define QT_BS_CASE(BA, BW)                                                                  \
    case (BA) * 8 + (BW):                                                                   \
        for (int64_t m = 0; m < M; m++)                                                     \
            for (int64_t n = 0; n < N; n++)                                                 \
                out[m * N + n] = (int32_t)bs_one(a + m * kb, w + n * kb, M * kb, N * kb,    \
                                                 kb, BA, BW);                               \
        break;

void qt_bitserial_gemm(const uint8_t *a, const uint8_t *w, int64_t M, int64_t N, int64_t kb,
                       int64_t ba, int64_t bw, int32_t *out) {
    switch (ba * 8 + bw) {
        QT_BS_CASE(1, 1) QT_BS_CASE(1, 2) QT_BS_CASE(1, 3) QT_BS_CASE(1, 4)
        QT_BS_CASE(2, 1) QT_BS_CASE(2, 2) QT_BS_CASE(2, 3) QT_BS_CASE(2, 4)
        QT_BS_CASE(3, 1) QT_BS_CASE(3, 2) QT_BS_CASE(3, 3) QT_BS_CASE(3, 4)
        QT_BS_CASE(4, 1) QT_BS_CASE(4, 2) QT_BS_CASE(4, 3) QT_BS_CASE(4, 4)
        default:
            break; /* unreachable after Python validation; writes nothing rather than crash */
    }
}
