// Baselines for the AArch64 instruction counts: gemmlowp's uint8 GEMM (Debian libgemmlowp-dev,
// header-only) on the same M x N x K shape, single-threaded, raw int32 output (empty output
// pipeline).  gemmlowp packs both operands inside the call, so its count includes packing.
//
// Usage: bench_gemmlowp MODE M N K SKIP.  MODE "default" uses DefaultL8R8BitDepthParams (the
// "NEON 12x8, depth 2" kernel); "lhsnonzero" uses L8R8WithLhsNonzeroBitDepthParams (the
// ARMv8.0 signed-arithmetic kernel, needs LHS values != 0, which our inputs respect); a binary
// built with -march=armv8.2-a+dotprod -DGEMMLOWP_DOTPROD_KERNEL runs the dot-product kernel
// with "default".  SKIP = 1 is the start-up baseline (same allocation and inputs, no GEMM).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <vector>

#include "public/gemmlowp.h"

template <typename BitDepth>
static void run(std::vector<std::uint8_t> &a, std::vector<std::uint8_t> &w,
                std::vector<std::int32_t> &out, int M, int N, int K) {
    gemmlowp::GemmContext ctx;
    ctx.set_max_num_threads(1);
    gemmlowp::MatrixMap<const std::uint8_t, gemmlowp::MapOrder::RowMajor> lhs(a.data(), M, K);
    gemmlowp::MatrixMap<const std::uint8_t, gemmlowp::MapOrder::ColMajor> rhs(w.data(), K, N);
    gemmlowp::MatrixMap<std::int32_t, gemmlowp::MapOrder::RowMajor> res(out.data(), M, N);
    gemmlowp::GemmWithOutputPipeline<std::uint8_t, std::int32_t, BitDepth>(
        &ctx, lhs, rhs, &res, -128, -128, std::make_tuple());
}

int main(int argc, char **argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: bench_gemmlowp MODE M N K SKIP\n");
        return 2;
    }
    const bool lhs_nonzero = std::strcmp(argv[1], "lhsnonzero") == 0;
    if (!lhs_nonzero && std::strcmp(argv[1], "default") != 0) {
        std::fprintf(stderr, "bench_gemmlowp: MODE must be default or lhsnonzero\n");
        return 2;
    }
    const int M = std::atoi(argv[2]), N = std::atoi(argv[3]), K = std::atoi(argv[4]);
    const bool skip = std::atoi(argv[5]) != 0;
    std::vector<std::uint8_t> a(static_cast<size_t>(M) * K), w(static_cast<size_t>(N) * K);
    std::vector<std::int32_t> out(static_cast<size_t>(M) * N);
    std::uint32_t s = 12345u;
    for (size_t i = 0; i < a.size(); i++) a[i] = 1 + ((s = s * 1664525u + 1013904223u) >> 24) % 255;
    for (size_t i = 0; i < w.size(); i++) w[i] = (s = s * 1664525u + 1013904223u) >> 24;
    if (!skip && lhs_nonzero) run<gemmlowp::L8R8WithLhsNonzeroBitDepthParams>(a, w, out, M, N, K);
    if (!skip && !lhs_nonzero) run<gemmlowp::DefaultL8R8BitDepthParams>(a, w, out, M, N, K);
    std::printf("gemmlowp %s checksum %d\n", argv[1], out[0] + out[static_cast<size_t>(M) * N - 1]);
    return 0;
}
