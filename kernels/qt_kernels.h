/* quanttheory bit-packed GEMM kernels: public C API.
 *
 * Every kernel computes out[m*N + n] (int32, row-major M x N) from two operands stored
 * row-major with the reduction dimension K last.  The NEON kernel and its plain-C scalar twin
 * (suffix _ref) have identical signatures and must give identical outputs for every valid
 * input.  Validation (dtype, ranges, K limits, flush intervals) is done by the Python binding
 * quanttheory/kernels.py before any pointer reaches C; the kernels themselves never read
 * outside the documented extents whatever the values are.
 *
 * Layouts (one definition, in quanttheory/packing.py):
 *   binary      rows of kb bytes, kb a multiple of 16; bit k of a row is bit (k % 8) of byte
 *               k / 8 (LSB first); bit 1 encodes -1, bit 0 encodes +1; padding bits are 0 in
 *               both operands so they contribute nothing to popcount(a ^ w).
 *   bit-serial  plane-major: plane i of row r starts at ((i * rows) + r) * kb; same bit order.
 *   byte codes  one int8 code (narrow) or uint8 codebook index per byte, rows of K bytes.
 */
#ifndef QT_KERNELS_H
#define QT_KERNELS_H
#include <stdint.h>

#if defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>
#define QT_BACKEND "neon"
#else
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
#define QT_BACKEND "simde"
#endif

/* u16 popcount lanes gain at most 16 per 128-bit chunk (UADALP adds two byte counts <= 8),
 * so they are widened every 4095 chunks: 4095 * 16 = 65520 <= 65535. */
#define QT_POP_FLUSH 4095

const char *qt_backend(void);

/* dot(a_m, w_n) over {-1,+1}^K = K - 2 popcount(a ^ w). */
void qt_binary_gemm(const uint8_t *a, const uint8_t *w, int64_t M, int64_t N, int64_t K,
                    int64_t kb, int32_t *out);
void qt_binary_gemm_ref(const uint8_t *a, const uint8_t *w, int64_t M, int64_t N, int64_t K,
                        int64_t kb, int32_t *out);

/* sum_{i<ba, j<bw} 2^(i+j) popcount(a_i & w_j): the unsigned code product sum. */
void qt_bitserial_gemm(const uint8_t *a, const uint8_t *w, int64_t M, int64_t N, int64_t kb,
                       int64_t ba, int64_t bw, int32_t *out);
void qt_bitserial_gemm_ref(const uint8_t *a, const uint8_t *w, int64_t M, int64_t N,
                           int64_t kb, int64_t ba, int64_t bw, int32_t *out);

/* sum_k a[m,k] w[n,k] of int8 codes, multiply-accumulated in int8 (lane = 8, MLA) or int16
 * (lane = 16, SMLAL) lanes and widened to int32 every `flush` 16-byte chunks.  Lanes wrap
 * modulo 2^lane: exact only if flush respects the safe interval (kernels.narrow_flush_limit).
 * The scalar twin models the same lanes, wrap-around included. */
void qt_narrow_gemm(const int8_t *a, const int8_t *w, int64_t M, int64_t N, int64_t K,
                    int64_t lane, int64_t flush, int32_t *out);
void qt_narrow_gemm_ref(const int8_t *a, const int8_t *w, int64_t M, int64_t N, int64_t K,
                        int64_t lane, int64_t flush, int32_t *out);

/* sum_k ta[a[m,k]] tw[w[n,k]] with 16-entry int8 tables (TBL decode); index >= 16 decodes
 * to 0 as TBL does.  Products go through int16 lanes widened every `flush` chunks, exact when
 * flush * max|ta| * max|tw| <= 32767 (the binding's kernels.codebook_flush_limit); the twin
 * ignores flush and is exact. */
void qt_codebook_gemm(const uint8_t *a, const uint8_t *w, const int8_t *ta, const int8_t *tw,
                      int64_t M, int64_t N, int64_t K, int64_t flush, int32_t *out);
void qt_codebook_gemm_ref(const uint8_t *a, const uint8_t *w, const int8_t *ta,
                          const int8_t *tw, int64_t M, int64_t N, int64_t K, int64_t flush,
                          int32_t *out);

/* Binary GEMM v2 (qt_binary.c, LCE-class 8 x 4 tiles) with a fused output transform:
 * mode 0 int32 out[m*N+n] = K - 2 popcount; mode 1 float outf = clamp(scale[n] * dot +
 * bias[n], lo, hi); mode 2 bit (m, n) of outb (rows of ob bytes, zeroed by the caller) set
 * iff sign[n] * dot < thr[n].  scale/bias/sign/thr hold a multiple of 4 entries >= N. */
typedef struct {
    int64_t N, K, mode, ob;
    int32_t *out;
    float *outf;
    uint8_t *outb;
    const float *scale, *bias;
    float lo, hi;
    const int32_t *sign, *thr;
} qt_bin_out;
void qt_bgemm(const uint8_t *a, const uint8_t *w, int64_t M, int64_t kb, const qt_bin_out *p);
void qt_bgemm_ref(const uint8_t *a, const uint8_t *w, int64_t M, int64_t kb, const qt_bin_out *p);

/* int8 GEMM by SDOT (qt_sdot.c): rows of kp bytes (kp % 16 == 0, zero-padded past K). */
int qt_has_dotprod(void);
void qt_sdot_gemm(const int8_t *a, const int8_t *w, int64_t M, int64_t N, int64_t kp, int32_t *out);
void qt_sdot_gemm_ref(const int8_t *a, const int8_t *w, int64_t M, int64_t N, int64_t kp,
                      int32_t *out);
void qt_pad_rows(const int8_t *src, int64_t rows, int64_t K, int64_t kp, int8_t *dst);
void qt_decode_rows(const uint8_t *src, int64_t rows, int64_t K, int64_t kp, const int8_t *table,
                    int8_t *dst);

/* Activation packing in C (qt_pack.c), layouts of quanttheory/packing.py. */
void qt_pack_signs(const int8_t *src, int64_t rows, int64_t K, int64_t kb, uint8_t *dst);
void qt_pack_planes(const uint8_t *src, int64_t rows, int64_t K, int64_t kb, int64_t bits,
                    uint8_t *dst);

/* APoT shift-add GEMM (qt_shiftadd.c): w = (sg ? -1 : 1) * (2^e1 + 2^e2), e = -16 for an
 * absent term, e in [-16, 14]; weights int16 (N x K) each; sg in {0, -1}. */
void qt_shiftadd_gemm(const uint8_t *a, const int16_t *e1, const int16_t *e2, const int16_t *sg,
                      const int32_t *negc, int64_t M, int64_t N, int64_t K, int32_t *out);
void qt_shiftadd_gemm_ref(const uint8_t *a, const int16_t *e1, const int16_t *e2,
                          const int16_t *sg, const int32_t *negc, int64_t M, int64_t N, int64_t K,
                          int32_t *out);
#endif
