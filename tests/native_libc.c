/* The native libc subset: formatted output, string functions, number parsing, sorting and the
 * malloc family (whichever allocator the image links). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tap.h"

#define FMT(want, ...) do { char b_[128]; snprintf(b_, sizeof b_, __VA_ARGS__); \
    ok(!strcmp(b_, want), "printf %s -> '%s' (got '%s')", #__VA_ARGS__, want, b_); } while (0)

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(void)
{
    tap_plan(33);
    FMT("42|-7|  5|5  |007", "%d|%i|%3d|%-3d|%03d", 42, -7, 5, 5, 7);
    FMT("ff|FF|0xff|777|18446744073709551615", "%x|%X|%#x|%o|%lu", 255, 255, 255, 511, ULONG_MAX);
    FMT("-9223372036854775808|ab|  abc|ab ", "%lld|%.2s|%5s|%-3.2s", LLONG_MIN, "abc", "abc", "abc");
    const char *volatile nul = NULL;
    FMT("c|%|(null)|0x1000", "%c|%%|%s|%p", 'c', nul, (void *)0x1000);
    FMT("3.142|-0.50|1e+06|2.5|100000|1.000000e-03", "%.3f|%.2f|%g|%g|%g|%e", 3.14159, -0.5, 1e6, 2.5, 1e5, 0.001);
    FMT("+5| 5|00042|   -42", "%+d|% d|%05zu|%6d", 5, 5, (size_t)42, -42);
    char small[4];
    is(snprintf(small, sizeof small, "%s", "abcdef"), 6, "snprintf returns the full length");
    ok(!strcmp(small, "abc"), "and truncates with a NUL");

    ok(strlen("hello") == 5 && !strcmp("a", "a") && strcmp("a", "b") < 0 && !strncmp("abc", "abd", 2), "strlen/strcmp/strncmp");
    ok(strchr("hello", 'l') - "hello" == 2 && strrchr("hello", 'l') - "hello" == 3 && !strchr("x", 'y'), "strchr/strrchr");
    ok(!strcmp(strstr("find the needle", "needle"), "needle") && !strstr("abc", "d"), "strstr");
    char buf[64] = "abc";
    strcat(buf, "def");
    ok(!strcmp(buf, "abcdef") && strspn("aab", "a") == 2 && strcspn("abc", "c") == 2, "strcat/strspn/strcspn");
    memmove(buf + 1, buf, 6);
    ok(!memcmp(buf, "aabcdef", 7), "memmove with overlap (forward)");
    memmove(buf, buf + 1, 6);
    ok(!memcmp(buf, "abcdef", 6), "memmove with overlap (backward)");
    char big[100];
    memset(big, 'x', sizeof big);
    memcpy(big + 3, "0123456789abcdefghij", 19);
    ok(big[2] == 'x' && big[3] == '0' && big[21] == 'i' && big[22] == 'x', "memcpy/memset of odd sizes");
    char *d = strdup("dup");
    ok(d && !strcmp(d, "dup"), "strdup");
    free(d);

    char *end;
    is(strtol("  -123xyz", &end, 10), -123, "strtol");
    ok(*end == 'x', "strtol end pointer");
    is(strtoul("0x1F", NULL, 0), 31, "strtoul base 0 hex");
    is(strtol("077", NULL, 0), 63, "strtol base 0 octal");
    errno = 0;
    strtol("99999999999999999999", NULL, 10);
    is(errno, ERANGE, "strtol overflow sets ERANGE");
    is(atoi("42"), 42, "atoi");
    ok(isdigit('5') && !isdigit('a') && isspace('\t') && toupper('a') == 'A', "ctype");

    int v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (i * 37) % 100;
    qsort(v, 100, sizeof v[0], cmp_int);
    int sorted = 1;
    for (int i = 0; i < 100; i++)
        sorted &= v[i] == i;
    ok(sorted, "qsort");
    int key = 42;
    ok(bsearch(&key, v, 100, sizeof v[0], cmp_int) == &v[42], "bsearch");

    /* The malloc family. */
    void *ptrs[500];
    int good = 1;
    for (int i = 0; i < 500; i++) {
        size_t n = (size_t)(i * 131) % 5000 + 1;
        ptrs[i] = malloc(n);
        good &= ptrs[i] != NULL && ((uintptr_t)ptrs[i] & (n <= 8 ? 7 : 15)) == 0;
        if (ptrs[i])
            memset(ptrs[i], i & 0xFF, n);
    }
    ok(good, "500 mallocs of 1..5000 bytes, 16-byte aligned (8 up to 8 bytes)");
    for (int i = 0; i < 500; i += 2)
        free(ptrs[i]);
    for (int i = 1; i < 500; i += 2) {
        size_t n = (size_t)(i * 131) % 5000 + 1;
        good &= ((unsigned char *)ptrs[i])[n - 1] == (i & 0xFF);
        free(ptrs[i]);
    }
    ok(good, "contents survive other frees");
    char *p = malloc(10);
    memcpy(p, "123456789", 10);
    p = realloc(p, 100000);
    ok(p && !strcmp(p, "123456789"), "realloc keeps the contents");
    free(p);
    int *z = calloc(1000, sizeof *z);
    int zero = z != NULL;
    for (int i = 0; z && i < 1000; i++)
        zero &= z[i] == 0;
    ok(zero, "calloc zeroes");
    free(z);
    void *a = NULL;
    ok(posix_memalign(&a, 4096, 10000) == 0 && ((uintptr_t)a & 4095) == 0, "posix_memalign 4096");
    free(a);
    void *big1 = malloc(8u << 20);
    ok(big1 != NULL, "an 8 MiB allocation");
    free(big1);
    /* More than the first chunk of RAM the page allocator gets at boot: it asks for more. */
    static void *mb[80];
    int got = 0;
    for (int i = 0; i < 80; i++) {
        mb[i] = malloc(1u << 20);
        if (mb[i]) {
            ((char *)mb[i])[0] = 1;
            ((char *)mb[i])[(1u << 20) - 1] = 2;
            got++;
        }
    }
    is(got, 80, "80 allocations of 1 MiB (beyond the boot chunk) all succeed");
    struct timespec wall, wall2;
    clock_gettime(CLOCK_REALTIME, &wall);
    clock_gettime(CLOCK_REALTIME, &wall2);
    ok(wall.tv_sec > 1700000000 && wall.tv_sec < 4102444800 && wall2.tv_sec >= wall.tv_sec,
       "CLOCK_REALTIME is a date from the CMOS clock after 2023, not going back (%ld)", (long)wall.tv_sec);
    for (int i = 0; i < 80; i++)
        free(mb[i]);
    return tap_done();
}
