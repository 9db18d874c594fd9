/* Popcount GEMMs: binary (xor-popcount) and bit-serial (and-popcount) kernels, NEON.
 *
 * Inner step for one 128-bit chunk: EOR/AND, CNT (vcntq_u8, per-byte popcount <= 8), UADALP
 * (vpadalq_u8, pairwise widening add into u16 lanes, +16 at most per chunk).  u16 lanes are
 * reduced into 64-bit scalars every QT_POP_FLUSH chunks, which is the whole overflow story:
 * the final popcount of a row pair is <= K, and the Python side checks K against int32.
 *
 * Register blocking: the binary kernel computes 4 x 4 outputs per pass (8 loads, 16 EOR, 16
 * CNT, 16 UADALP per chunk = 2048 bit-MACs per 56 instructions); edges use the same tile
 * code with smaller (MR, NR).
 */
#include "qt_kernels.h"

const char *qt_backend(void) { return QT_BACKEND; }

#define QT_INLINE static inline __attribute__((always_inline))

/* Popcounts of a[i] ^ w[j] for an MR x NR tile over kb bytes, added into pop[i][j].  MR and
 * NR are compile-time constants at every call site, so gcc unrolls the tile loops and keeps
 * the MR * NR u16 accumulators in registers (4 x 4: 8 loads + 48 ALU ops per chunk). */
#define QT_BIN_TILE(MR, NR)                                                                 \
    QT_INLINE void bin_tile_##MR##x##NR(const uint8_t *a, const uint8_t *w, int64_t kb,      \
                                         uint64_t pop[4][4]) {                              \
        const int64_t chunks = kb / 16;                                                     \
        for (int64_t c0 = 0; c0 < chunks; c0 += QT_POP_FLUSH) {                             \
            const int64_t c1 = c0 + QT_POP_FLUSH < chunks ? c0 + QT_POP_FLUSH : chunks;     \
            uint16x8_t acc[MR][NR];                                                         \
            for (int i = 0; i < MR; i++)                                                    \
                for (int j = 0; j < NR; j++) acc[i][j] = vdupq_n_u16(0);                    \
            const uint8_t *pa = a + 16 * c0, *pw = w + 16 * c0;                             \
            for (int64_t c = c0; c < c1; c++, pa += 16, pw += 16) {                         \
                uint8x16_t va[MR], vw[NR];                                                  \
                for (int i = 0; i < MR; i++) va[i] = vld1q_u8(pa + i * kb);                 \
                for (int j = 0; j < NR; j++) vw[j] = vld1q_u8(pw + j * kb);                 \
                for (int i = 0; i < MR; i++)                                                \
                    for (int j = 0; j < NR; j++)                                            \
                        acc[i][j] = vpadalq_u8(acc[i][j], vcntq_u8(veorq_u8(va[i], vw[j]))); \
            }                                                                               \
            for (int i = 0; i < MR; i++)                                                    \
                for (int j = 0; j < NR; j++) pop[i][j] += vaddlvq_u16(acc[i][j]);           \
        }                                                                                   \
    }                                                                                       \
    QT_INLINE void bin_store_##MR##x##NR(const uint8_t *a, const uint8_t *w, int64_t N,      \
                                          int64_t K, int64_t kb, int32_t *out) {            \
        uint64_t pop[4][4] = {{0}};                                                         \
        bin_tile_##MR##x##NR(a, w, kb, pop);                                                \
        for (int i = 0; i < MR; i++)                                                        \
            for (int j = 0; j < NR; j++)                                                    \
                out[i * N + j] = (int32_t)(K - 2 * (int64_t)pop[i][j]);                     \
    }

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
QT_BIN_TILE(4, 4)
QT_BIN_TILE(1, 4)
QT_BIN_TILE(4, 1)
QT_BIN_TILE(1, 1)
#pragma GCC diagnostic pop

void qt_binary_gemm(const uint8_t *a, const uint8_t *w, int64_t M, int64_t N, int64_t K,
                    int64_t kb, int32_t *out) {
    int64_t m = 0;
    for (; m + 4 <= M; m += 4) {
        int64_t n = 0;
        for (; n + 4 <= N; n += 4) bin_store_4x4(a + m * kb, w + n * kb, N, K, kb, out + m * N + n);
        for (; n < N; n++) bin_store_4x1(a + m * kb, w + n * kb, N, K, kb, out + m * N + n);
    }
    for (; m < M; m++) {
        int64_t n = 0;
        for (; n + 4 <= N; n += 4) bin_store_1x4(a + m * kb, w + n * kb, N, K, kb, out + m * N + n);
        for (; n < N; n++) bin_store_1x1(a + m * kb, w + n * kb, N, K, kb, out + m * N + n);
    }
}

/* 1 x NR outputs of the bit-serial GEMM: ba x bw plane pairs per output, each with its own
 * u16 lanes, so the weights 2^(i+j) are applied only once per flush, in 64-bit scalars.
 * Blocking over NR outputs shares the activation-plane loads and the loop overhead. */
QT_INLINE void bs_tile(const uint8_t *a, const uint8_t *w, int64_t sa, int64_t sw, int64_t kb,
                       int ba, int bw, int nr, uint64_t total[4]) {
    const int64_t chunks = kb / 16;
    for (int64_t c0 = 0; c0 < chunks; c0 += QT_POP_FLUSH) {
        const int64_t c1 = c0 + QT_POP_FLUSH < chunks ? c0 + QT_POP_FLUSH : chunks;
        uint16x8_t acc[4][4][4]; /* [output][i][j] */
        for (int o = 0; o < nr; o++)
            for (int i = 0; i < ba; i++)
                for (int j = 0; j < bw; j++) acc[o][i][j] = vdupq_n_u16(0);
        for (int64_t c = c0; c < c1; c++) {
            uint8x16_t va[4];
            for (int i = 0; i < ba; i++) va[i] = vld1q_u8(a + i * sa + 16 * c);
            for (int o = 0; o < nr; o++)
                for (int j = 0; j < bw; j++) {
                    const uint8x16_t vw = vld1q_u8(w + o * kb + j * sw + 16 * c);
                    for (int i = 0; i < ba; i++)
                        acc[o][i][j] = vpadalq_u8(acc[o][i][j], vcntq_u8(vandq_u8(va[i], vw)));
                }
        }
        for (int o = 0; o < nr; o++)
            for (int i = 0; i < ba; i++)
                for (int j = 0; j < bw; j++)
                    total[o] += (uint64_t)vaddlvq_u16(acc[o][i][j]) << (i + j);
    }
}

QT_INLINE void bs_store(const uint8_t *a, const uint8_t *w, int64_t M, int64_t N, int64_t kb,
                        int ba, int bw, int nr, int32_t *out) {
    uint64_t total[4] = {0};
    bs_tile(a, w, M * kb, N * kb, kb, ba, bw, nr, total);
    for (int o = 0; o < nr; o++) out[o] = (int32_t)total[o];
}

/* Specialise on (ba, bw) so the plane loops unroll and the accumulators stay in registers;
 * 1 x 4 blocking while the 4 * ba * bw accumulators fit the 32 vector registers. */
#define QT_BS_CASE(BA, BW)                                                                  \
    case (BA) * 8 + (BW):                                                                   \
        for (int64_t m = 0; m < M; m++) {                                                   \
            int64_t n = 0;                                                                  \
            if ((BA) * (BW) <= 4)                                                           \
                for (; n + 4 <= N; n += 4)                                                  \
                    bs_store(a + m * kb, w + n * kb, M, N, kb, BA, BW, 4, out + m * N + n); \
            for (; n < N; n++)                                                              \
                bs_store(a + m * kb, w + n * kb, M, N, kb, BA, BW, 1, out + m * N + n);     \
        }                                                                                   \
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
