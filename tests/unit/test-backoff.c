/* test-backoff.c - retry delays stay within [d/2, d], respect the cap,
 * never overflow, and depend only on the seed. */
#include "config.h"
#include "backoff.h"
#include "check.h"

#include <math.h>

static double expected_d(int attempt, double base, double cap)
{
    double d = base;
    for (int i = 1; i < attempt && d < cap; i++)
        d *= 2;
    return d > cap ? cap : d;
}

int main(void)
{
    uint64_t rng = 12345;
    const double base = 0.5, cap = 30;

    /* Bounds for every attempt, including ones far past the cap. */
    for (int a = 1; a <= 40; a++) {
        double d = expected_d(a, base, cap);
        for (int k = 0; k < 200; k++) {
            double v = backoff_delay(a, base, cap, &rng);
            CHECK(isfinite(v));
            CHECK(v >= d / 2 - 1e-12);
            CHECK(v <= d + 1e-12);
            CHECK(v <= cap);
        }
    }
    CHECK_NEAR(expected_d(1, base, cap), 0.5, 1e-12);
    CHECK_NEAR(expected_d(40, base, cap), 30, 1e-12);

    /* The upper bound never decreases with the attempt number: the
     * maximum seen over many draws grows until the cap, then stays. */
    double prev = 0;
    for (int a = 1; a <= 40; a++) {
        double hi = 0;
        for (int k = 0; k < 500; k++) {
            double v = backoff_delay(a, base, cap, &rng);
            if (v > hi)
                hi = v;
        }
        CHECK(hi >= prev / 2);
        CHECK(hi >= expected_d(a, base, cap) * 0.9);
        prev = hi;
    }

    /* Huge attempt numbers and an absent cap do not overflow. */
    CHECK(isfinite(backoff_delay(100000, base, cap, &rng)));
    CHECK(backoff_delay(100000, base, cap, &rng) <= cap);
    CHECK(backoff_delay(2147483647, base, cap, &rng) >= cap / 2);
    CHECK(isfinite(backoff_delay(2147483647, base, 0, &rng)));

    /* Attempt numbers below 1 behave as the first retry. */
    double v0 = backoff_delay(0, base, cap, &rng);
    CHECK(v0 >= base / 2 && v0 <= base);

    /* Same seed, same sequence; different seeds differ. */
    uint64_t s1 = 42, s2 = 42, s3 = 43;
    int same = 1, differ = 0;
    for (int a = 1; a <= 20; a++) {
        double x = backoff_delay(a, base, cap, &s1);
        double y = backoff_delay(a, base, cap, &s2);
        double z = backoff_delay(a, base, cap, &s3);
        if (x != y)
            same = 0;
        if (x != z)
            differ = 1;
    }
    CHECK(same);
    CHECK(differ);
    CHECK(s1 == s2);

    /* A zero seed still produces values. */
    uint64_t zero = 0;
    CHECK(backoff_rand(&zero) != 0);
    CHECK(zero != 0);

    /* Base 0 (or negative) means no delay at all. */
    for (int a = 1; a <= 40; a++) {
        CHECK(backoff_delay(a, 0, cap, &rng) == 0);
        CHECK(backoff_delay(a, -1, cap, &rng) == 0);
    }

    /* A cap below the base caps the first delay too. */
    double c = backoff_delay(1, 10, 2, &rng);
    CHECK(c >= 1 && c <= 2);

    return check_result("test-backoff");
}
