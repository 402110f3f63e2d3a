// CPU unit tests of the kernels' shared arithmetic (native/otnative_math.h), run by CTest.
#include <gtest/gtest.h>
#include <random>
#include <vector>
#include "../otnative_math.h"

namespace {

double direct_lse(const std::vector<double>& v) {
    double mx = -std::numeric_limits<double>::infinity();
    for (double x : v) mx = std::max(mx, x);
    double s = 0;
    for (double x : v) s += std::exp(x - mx);
    return mx + std::log(s);
}

TEST(StreamedLse, MatchesTheTwoPassFormulaInAnyOrderAndTiling) {
    std::mt19937_64 rng(1);
    std::normal_distribution<double> g(0.0, 300.0);
    std::vector<double> v(1000);
    for (double& x : v) x = g(rng);
    otn::LseState whole = otn::lse_empty();
    for (double x : v) otn::lse_push(whole, x);
    EXPECT_NEAR(otn::lse_value(whole), direct_lse(v), 1e-12 * std::abs(direct_lse(v)));
    // Tiles of 37 merged in reverse order, as warps and blocks would.
    otn::LseState merged = otn::lse_empty();
    for (int t0 = 960; t0 >= 0; t0 -= 37) {
        otn::LseState tile = otn::lse_empty();
        for (int i = t0; i < std::min<int>(t0 + 37, 1000); ++i) otn::lse_push(tile, v[i]);
        merged = otn::lse_merge(merged, tile);
    }
    otn::LseState rest = otn::lse_empty();
    for (int i = 0; i < 960 % 37; ++i) otn::lse_push(rest, v[i]);
    EXPECT_NEAR(otn::lse_value(otn::lse_merge(merged, rest)), direct_lse(v), 1e-12 * std::abs(direct_lse(v)));
}

TEST(StreamedLse, IgnoresMinusInfinityAndHandlesTheEmptyReduction) {
    otn::LseState s = otn::lse_empty();
    EXPECT_EQ(otn::lse_value(s), -std::numeric_limits<double>::infinity());
    otn::lse_push(s, -std::numeric_limits<double>::infinity());
    EXPECT_EQ(otn::lse_value(s), -std::numeric_limits<double>::infinity());
    otn::lse_push(s, 2.0);
    otn::lse_push(s, -std::numeric_limits<double>::infinity());
    EXPECT_DOUBLE_EQ(otn::lse_value(s), 2.0);
    EXPECT_DOUBLE_EQ(otn::lse_value(otn::lse_merge(otn::lse_empty(), s)), 2.0);
}

TEST(Cost, DirectAndExpandedFormsAgreeNearTheOriginAndTheExpandedOneCancelsFarAway) {
    const double x[3] = {0.3, -0.2, 0.9}, y[3] = {-0.1, 0.4, 0.5};
    double xx = 0, yy = 0, xy = 0;
    for (int k = 0; k < 3; ++k) { xx += x[k] * x[k]; yy += y[k] * y[k]; xy += x[k] * y[k]; }
    EXPECT_NEAR(otn::sq_dist(x, y, 3), otn::sq_dist_expanded(xx, yy, xy), 1e-15);
    EXPECT_DOUBLE_EQ(otn::sq_dist(x, y, 3), 0.16 + 0.36 + 0.16);
    // Shifted by 1e8 the expanded form loses every digit; the direct form keeps them.
    const double xs[1] = {1e8 + 0.25}, ys[1] = {1e8};
    EXPECT_DOUBLE_EQ(otn::sq_dist(xs, ys, 1), 0.0625);
    EXPECT_GT(std::abs(otn::sq_dist_expanded(xs[0] * xs[0], ys[0] * ys[0], xs[0] * ys[0]) - 0.0625), 1e-3);
}

TEST(PlanAndGradient, EntriesAndContractionsFollowTheirFormulas) {
    const double eps = 0.3, row_term = -1.2, col_term = 0.4, cost = 0.8;
    EXPECT_DOUBLE_EQ(otn::plan_entry(row_term, col_term, cost, 1.0 / eps), std::exp(row_term + col_term - cost / eps));
    EXPECT_DOUBLE_EQ(otn::softmin_exponent(col_term, cost, 1.0 / eps), col_term - cost / eps);
    const double x[2] = {1.0, 2.0}, y[2] = {0.5, -1.0}, a[2] = {0.25, -0.5};
    double diff[2];
    otn::pair_difference(x, y, 2, diff);
    EXPECT_DOUBLE_EQ(diff[1], 3.0);
    EXPECT_DOUBLE_EQ(otn::dot(diff, a, 2), 0.5 * 0.25 + 3.0 * -0.5);
    EXPECT_DOUBLE_EQ(otn::r_block_entry(0.2, diff[1], 0.5, 3.0), 3.0 * 0.2 * (6.0 - 0.5));
}

// The contractions summed over a row of pairs against the formulas written out with moments near the origin
// (where those are exact enough), and far from it, where only the per-pair forms keep their digits.
TEST(PairContractions, SumsOverARowFollowTheirFormulasAndKeepTheirDigitsFarFromTheOrigin) {
    std::mt19937_64 rng(3);
    std::normal_distribution<double> g(0.0, 1.0);
    const int d = 3, m = 50;
    for (double offset : {0.0, 1e7}) {
        std::vector<double> x(d), y(m * d), p(m), w(m), a(d);
        for (double& v : x) v = offset + g(rng);
        for (double& v : y) v = offset + g(rng);
        for (double& v : p) v = std::exp(g(rng));
        for (double& v : w) v = g(rng);
        for (double& v : a) v = g(rng);
        double contract[1 + d] = {0}, outer[d] = {0}, diff[d];
        // Reference in long double, from the coordinates directly.
        long double ref_contract[1 + d] = {0}, ref_outer[d] = {0};
        for (int j = 0; j < m; ++j) {
            otn::pair_difference(x.data(), &y[j * d], d, diff);
            otn::contract_push(contract, p[j], w[j], diff, d);
            otn::outer_push(outer, p[j], diff, a.data(), d);
            long double e[d], ea = 0;
            for (int q = 0; q < d; ++q) { e[q] = (long double)x[q] - y[j * d + q]; ea += e[q] * a[q]; }
            ref_contract[0] += (long double)p[j] * w[j];
            for (int q = 0; q < d; ++q) {
                ref_contract[1 + q] += (long double)p[j] * w[j] * e[q];
                ref_outer[q] += (long double)p[j] * ea * e[q];
            }
        }
        for (int q = 0; q <= d; ++q) EXPECT_NEAR(contract[q], (double)ref_contract[q], 1e-12 * (1 + std::abs((double)ref_contract[q]))) << "offset " << offset;
        for (int q = 0; q < d; ++q) EXPECT_NEAR(outer[q], (double)ref_outer[q], 1e-12 * (1 + std::abs((double)ref_outer[q]))) << "offset " << offset;
    }
}

}  // namespace
