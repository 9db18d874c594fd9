/* Test and benchmark driver for the kernels, built for AArch64 (run under qemu-aarch64) or
 * the host.  Two modes:
 *
 *   driver run IN OUT     IN holds records {int64 hdr[8]; payload}, hdr = {kind, M, N, K,
 *                         p1, p2, p3, 0}; for each record OUT receives the NEON output then
 *                         the scalar-twin output (2 * M * N int32).  Kinds and payloads:
 *                           1 binary     p1 = kb              a: M*kb, w: N*kb bytes
 *                           2 bit-serial p1 = kb, p2 = ba, p3 = bw
 *                                                             a: ba*M*kb, w: bw*N*kb bytes
 *                           3 narrow     p1 = lane, p2 = flush a: M*K, w: N*K int8
 *                           4 codebook   p1 = flush          a: M*K, w: N*K, ta[16], tw[16]
 *                           5 bgemm      p1 = kb, p2 = mode   a: M*kb, w: N*kb, then N4 =
 *                                        ceil(N/4)*4 floats scale, N4 floats bias, lo, hi,
 *                                        N4 int32 sign, N4 int32 thr; out: int32 (mode 0),
 *                                        float bits (mode 1), 0/1 per output (mode 2)
 *                           6 sdot       p1 = kp              a: M*kp, w: N*kp int8
 *                           7 shiftadd                        a: M*K, w: e1, e2, sg (3 x N*K
 *                                                             int16), negc (N int32)
 *   driver bench NAME M N K SKIP
 *                         deterministic inputs, one call of kernel NAME (see bench_call),
 *                         activation packing included where the kernel needs one; SKIP = 1
 *                         does everything except the call (the start-up baseline).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qt_kernels.h"

static void *xread(FILE *f, size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p || fread(p, 1, n, f) != n) {
        fprintf(stderr, "driver: truncated input (wanted %zu bytes)\n", n);
        exit(2);
    }
    return p;
}

/* Binary GEMM v2 with its output transform; bit outputs are expanded to one 0/1 per int32. */
static void run_bgemm(const int64_t h[8], const uint8_t *a, const uint8_t *w, FILE *in,
                      int32_t *o) {
    const int64_t M = h[1], N = h[2], n4 = (N + 3) / 4 * 4, ob = (N + 127) / 128 * 16;
    float *f = xread(in, (2 * n4 + 2) * sizeof(float));
    int32_t *st = xread(in, 2 * n4 * sizeof(int32_t));
    uint8_t *bits = calloc(M * ob, 1);
    for (int twin = 0; twin < 2; twin++) {
        int32_t *dst = o + twin * M * N;
        memset(bits, 0, M * ob);
        qt_bin_out p = {N, h[3], h[5], ob, dst, (float *)dst, bits, f, f + n4, f[2 * n4],
                        f[2 * n4 + 1], st, st + n4};
        (twin ? qt_bgemm_ref : qt_bgemm)(a, w, M, h[4], &p);
        if (h[5] == 2)
            for (int64_t i = 0; i < M * N; i++) dst[i] = (bits[(i / N) * ob + (i % N) / 8] >> (i % N % 8)) & 1;
    }
    free(f), free(st), free(bits);
}

static void run_record(const int64_t h[8], FILE *in, FILE *out) {
    const int64_t kind = h[0], M = h[1], N = h[2], K = h[3];
    size_t na = 0, nw = 0;
    if (kind == 1) na = M * h[4], nw = N * h[4];
    else if (kind == 2) na = h[5] * M * h[4], nw = h[6] * N * h[4];
    else if (kind == 3 || kind == 4) na = M * K, nw = N * K;
    else if (kind == 5) na = M * h[4], nw = N * h[4];
    else if (kind == 6) na = M * h[4], nw = N * h[4];
    else if (kind == 7) na = M * K, nw = 3 * N * K * 2 + 4 * N;
    else { fprintf(stderr, "driver: unknown kind %lld\n", (long long)kind); exit(2); }
    uint8_t *a = xread(in, na), *w = xread(in, nw);
    int8_t *ta = kind == 4 ? xread(in, 16) : NULL, *tw = kind == 4 ? xread(in, 16) : NULL;
    int32_t *o = calloc(2 * M * N, sizeof(int32_t));
    if (kind == 5) {
        run_bgemm(h, a, w, in, o);
        fwrite(o, sizeof(int32_t), 2 * M * N, out);
        free(a), free(w), free(o);
        return;
    }
    for (int twin = 0; twin < 2; twin++) {
        int32_t *dst = o + twin * M * N;
        if (kind == 1) (twin ? qt_binary_gemm_ref : qt_binary_gemm)(a, w, M, N, K, h[4], dst);
        if (kind == 2)
            (twin ? qt_bitserial_gemm_ref : qt_bitserial_gemm)(a, w, M, N, h[4], h[5], h[6], dst);
        if (kind == 3)
            (twin ? qt_narrow_gemm_ref : qt_narrow_gemm)((int8_t *)a, (int8_t *)w, M, N, K, h[4],
                                                         h[5], dst);
        if (kind == 4)
            (twin ? qt_codebook_gemm_ref : qt_codebook_gemm)(a, w, ta, tw, M, N, K, h[4], dst);
        if (kind == 6)
            (twin ? qt_sdot_gemm_ref : qt_sdot_gemm)((int8_t *)a, (int8_t *)w, M, N, h[4], dst);
        if (kind == 7) {
            const int16_t *e1 = (const int16_t *)w, *e2 = e1 + N * K, *sg = e2 + N * K;
            int32_t *negc = malloc(4 * N + 4); /* 6NK bytes in: may be misaligned for int32 */
            memcpy(negc, sg + N * K, 4 * N);
            (twin ? qt_shiftadd_gemm_ref : qt_shiftadd_gemm)(a, e1, e2, sg, negc, M, N, K, dst);
            free(negc);
        }
    }
    fwrite(o, sizeof(int32_t), 2 * M * N, out);
    free(a), free(w), free(ta), free(tw), free(o);
}

/* float32 baselines (qt_baselines.c) */
void f32_naive(const float *a, const float *b, int64_t M, int64_t N, int64_t K, float *c);
void f32_pack_a(const float *a, int64_t M, int64_t K, float *ap);
void f32_neon(const float *ap, const float *bp, int64_t M, int64_t N, int64_t K, float *c);

typedef struct {
    int64_t M, N, K, kb, kp, k4;
    uint8_t *a, *w, *src, *tmp;
    int16_t *e; /* shift-add weights: e1, e2, sign (3 x N x K), set up outside the count */
    int32_t *o, *negc;
    float *fo;
} bench_buf;

/* Kernels whose activation packing is counted do it from `src` (one int8 code per byte, the
 * form a quantizer or the previous layer hands over) into `tmp` inside the measured region. */
static int bench_call(const char *name, bench_buf *b) {
    const int64_t M = b->M, N = b->N, K = b->K, kb = b->kb, kp = b->kp;
    static const int8_t t[16] = {0, 1, 2, 3, 4, 6, 8, 10, -1, -2, -3, -4, -6, -8, -10, 0};
    static float ones[1 << 16];
    static int32_t signs[1 << 16], thr[1 << 16];
    qt_bin_out p = {N, K, 0, (N + 127) / 128 * 16, b->o, b->fo, b->tmp, ones, ones, -1.f, 1.f,
                    signs, thr};
    if (!strcmp(name, "binary_v1")) qt_binary_gemm(b->a, b->w, M, N, K, kb, b->o);
    else if (!strcmp(name, "bgemm")) {
        qt_pack_signs((const int8_t *)b->src, M, K, kb, b->a);
        qt_bgemm(b->a, b->w, M, kb, &p);
    } else if (!strcmp(name, "bgemm_i32")) qt_bgemm(b->a, b->w, M, kb, &p);
    else if (!strcmp(name, "pack_signs")) qt_pack_signs((const int8_t *)b->src, M, K, kb, b->a);
    else if (!strcmp(name, "bgemm_bits")) p.mode = 2, qt_bgemm(b->a, b->w, M, kb, &p);
    else if (!strcmp(name, "bgemm_float")) p.mode = 1, qt_bgemm(b->a, b->w, M, kb, &p);
    else if (!strncmp(name, "bs", 2) && strlen(name) == 4) {
        const int64_t ba = name[2] - '0', bw = name[3] - '0';
        qt_pack_planes(b->src, M, K, kb, ba, b->tmp);
        qt_bitserial_gemm(b->tmp, b->w, M, N, kb, ba, bw, b->o);
    } else if (!strcmp(name, "narrow2_8")) qt_narrow_gemm((int8_t *)b->src, (int8_t *)b->w, M, N, K, 8, 31, b->o);
    else if (!strcmp(name, "narrow2_16")) qt_narrow_gemm((int8_t *)b->src, (int8_t *)b->w, M, N, K, 16, 8191, b->o);
    else if (!strcmp(name, "narrow4_16")) qt_narrow_gemm((int8_t *)b->src, (int8_t *)b->w, M, N, K, 16, 511, b->o);
    else if (!strcmp(name, "codebook")) qt_codebook_gemm(b->src, b->w, t, t, M, N, K, 327, b->o);
    else if (!strcmp(name, "sdot")) {
        qt_pad_rows((const int8_t *)b->src, M, K, kp, (int8_t *)b->tmp);
        qt_sdot_gemm((const int8_t *)b->tmp, (const int8_t *)b->w, M, N, kp, b->o);
    } else if (!strcmp(name, "codebook_sdot")) {
        qt_decode_rows(b->src, M, K, kp, t, (int8_t *)b->tmp);
        qt_sdot_gemm((const int8_t *)b->tmp, (const int8_t *)b->w, M, N, kp, b->o);
    } else if (!strcmp(name, "shiftadd")) {
        qt_shiftadd_gemm(b->src, b->e, b->e + N * K, b->e + 2 * N * K, b->negc, M, N, K, b->o);
    } else if (!strcmp(name, "f32_naive")) f32_naive((float *)b->src, (float *)b->w, M, N, K, b->fo);
    else if (!strcmp(name, "f32_neon")) {
        if (M % 8 || N % 8) return 3; /* 8 x 8 tiles only */
        f32_pack_a((const float *)b->src, M, b->k4, (float *)b->tmp);
        f32_neon((const float *)b->tmp, (const float *)b->w, M, N, b->k4, b->fo);
    } else return 2;
    return 0;
}

static int bench(const char *name, int64_t M, int64_t N, int64_t K, int skip) {
    bench_buf b = {M, N, K, (K + 127) / 128 * 16, (K + 15) / 16 * 16, (K + 3) / 4 * 4, 0, 0, 0, 0, 0, 0,
                   0, 0};
    const int64_t rows = M > N ? M : N, per_row = 4 * (b.k4 > 4 * b.kb ? b.k4 : 4 * b.kb);
    b.a = malloc(rows * per_row), b.w = malloc(rows * per_row);
    b.src = malloc(rows * per_row), b.tmp = calloc(rows * per_row, 1);
    uint32_t s = 12345u; /* LCG: inputs are deterministic, values irrelevant to the count */
    for (int64_t i = 0; i < rows * per_row; i++) {
        s = s * 1664525u + 1013904223u;
        b.a[i] = (uint8_t)(s >> 24) & 1, b.w[i] = (uint8_t)(s >> 16) & 1; /* valid for all */
        b.src[i] = (uint8_t)(s >> 8) & 1;
    }
    b.o = calloc(M * N, sizeof(int32_t)), b.fo = calloc(M * N, sizeof(float));
    b.e = malloc(3 * N * K * sizeof(int16_t)), b.negc = calloc(N, sizeof(int32_t));
    for (int64_t i = 0; i < 3 * N * K; i++) /* valid: e1 in {0, 1}, e2 absent, sign {0, -1} */
        b.e[i] = i < N * K ? (int16_t)(b.w[i % (rows * per_row)] & 1)
                 : i < 2 * N * K ? -16 : (int16_t)-(b.a[i % (rows * per_row)] & 1);
    int rc = skip ? 0 : bench_call(name, &b);
    if (rc == 3) fprintf(stderr, "driver: %s needs M and N multiples of 8\n", name);
    else if (rc) fprintf(stderr, "driver: unknown bench kernel %s\n", name);
    else printf("%s %s checksum %d\n", qt_backend(), name, b.o[0] + b.o[M * N - 1] + (int)b.fo[0]);
    free(b.a), free(b.w), free(b.src), free(b.tmp), free(b.o), free(b.fo), free(b.e), free(b.negc);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "run")) {
        FILE *in = fopen(argv[2], "rb"), *out = fopen(argv[3], "wb");
        if (!in || !out) { perror("driver"); return 2; }
        int64_t h[8];
        while (fread(h, sizeof h, 1, in) == 1) run_record(h, in, out);
        fclose(in), fclose(out);
        return 0;
    }
    if (argc == 7 && !strcmp(argv[1], "bench"))
        return bench(argv[2], atoll(argv[3]), atoll(argv[4]), atoll(argv[5]), atoi(argv[6]));
    fprintf(stderr, "usage: driver run IN OUT | driver bench NAME M N K SKIP\n");
    return 2;
}
