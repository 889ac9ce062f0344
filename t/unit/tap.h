/* A minimal TAP producer for the core's C unit tests: ok(), is_int(),
 * is_str(), done_testing(). Output is read by prove. */

#ifndef SB_TAP_H
#define SB_TAP_H

#include <stdio.h>
#include <string.h>

static int  tap_n, tap_failed;

#define ok(cond, ...)  tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static void
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>

static void
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  ap;

    printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_failed++;
        printf("#   failed at %s line %d\n", file, line);
    }
}

#define is_int(got, want, name) do {                                        \
        long long g_ = (long long) (got), w_ = (long long) (want);          \
        ok(g_ == w_, "%s", name);                                           \
        if (g_ != w_) printf("#   got %lld, want %lld\n", g_, w_);          \
    } while (0)

#define is_str(got, want, name) do {                                        \
        const char *g_ = (got), *w_ = (want);                               \
        int eq_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_;              \
        ok(eq_, "%s", name);                                                \
        if (!eq_) printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)",  \
                         w_ ? w_ : "(null)");                               \
    } while (0)

static int
done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
