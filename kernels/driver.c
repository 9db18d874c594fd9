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
 *   driver bench NAME M N K SKIP
 *                         deterministic inputs, one call of kernel NAME (binary, bs11, bs22,
 *                         bs44, narrow2_8, narrow2_16, narrow4_16, codebook, f32); SKIP = 1
 *                         does everything except the kernel call (the start-up baseline).
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

static void run_record(const int64_t h[8], FILE *in, FILE *out) {
    const int64_t kind = h[0], M = h[1], N = h[2], K = h[3];
    size_t na = 0, nw = 0;
    if (kind == 1) na = M * h[4], nw = N * h[4];
    else if (kind == 2) na = h[5] * M * h[4], nw = h[6] * N * h[4];
    else if (kind == 3 || kind == 4) na = M * K, nw = N * K;
    else { fprintf(stderr, "driver: unknown kind %lld\n", (long long)kind); exit(2); }
    uint8_t *a = xread(in, na), *w = xread(in, nw);
    int8_t *ta = kind == 4 ? xread(in, 16) : NULL, *tw = kind == 4 ? xread(in, 16) : NULL;
    int32_t *o = calloc(2 * M * N, sizeof(int32_t));
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
    }
    fwrite(o, sizeof(int32_t), 2 * M * N, out);
    free(a), free(w), free(ta), free(tw), free(o);
}

/* Plain float32 GEMM in i-k-j order over a K x N right operand: the inner loop is a
 * contiguous AXPY that gcc -O3 auto-vectorises without -ffast-math. */
static void f32_gemm(const float *restrict a, const float *restrict b, int64_t M, int64_t N,
                     int64_t K, float *restrict c) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++) {
            const float s = a[m * K + k];
            for (int64_t n = 0; n < N; n++) c[m * N + n] += s * b[k * N + n];
        }
}

static int bench(const char *name, int64_t M, int64_t N, int64_t K, int skip) {
    const int64_t kb = (K + 127) / 128 * 16, big = (M > N ? M : N) * (K > 4 * kb ? K : 4 * kb);
    uint8_t *a = malloc(4 * big), *w = malloc(4 * big);
    uint32_t s = 12345u; /* LCG: inputs are deterministic, values irrelevant to the count */
    for (int64_t i = 0; i < 4 * big; i++) {
        s = s * 1664525u + 1013904223u;
        a[i] = (uint8_t)(s >> 24) & 1, w[i] = (uint8_t)(s >> 16) & 1; /* valid for every kernel */
    }
    int32_t *o = calloc(M * N, sizeof(int32_t));
    float *fo = calloc(M * N, sizeof(float));
    const int8_t t[16] = {0, 1, 2, 3, 4, 6, 8, 10, -1, -2, -3, -4, -6, -8, -10, 0};
    if (skip) goto done;
    if (!strcmp(name, "binary")) qt_binary_gemm(a, w, M, N, K, kb, o);
    else if (!strcmp(name, "bs11")) qt_bitserial_gemm(a, w, M, N, kb, 1, 1, o);
    else if (!strcmp(name, "bs22")) qt_bitserial_gemm(a, w, M, N, kb, 2, 2, o);
    else if (!strcmp(name, "bs44")) qt_bitserial_gemm(a, w, M, N, kb, 4, 4, o);
    else if (!strcmp(name, "narrow2_8")) qt_narrow_gemm((int8_t *)a, (int8_t *)w, M, N, K, 8, 31, o);
    else if (!strcmp(name, "narrow2_16")) qt_narrow_gemm((int8_t *)a, (int8_t *)w, M, N, K, 16, 8191, o);
    else if (!strcmp(name, "narrow4_16")) qt_narrow_gemm((int8_t *)a, (int8_t *)w, M, N, K, 16, 511, o);
    else if (!strcmp(name, "codebook")) qt_codebook_gemm(a, w, t, t, M, N, K, 327, o);
    else if (!strcmp(name, "f32")) f32_gemm((float *)a, (float *)w, M, N, K, fo);
    else { fprintf(stderr, "driver: unknown bench kernel %s\n", name); return 2; }
done:
    printf("%s %s checksum %d\n", qt_backend(), name, o[0] + o[M * N - 1] + (int)fo[0]);
    free(a), free(w), free(o), free(fo);
    return 0;
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
