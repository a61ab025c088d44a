/* Formatted output of the native libc: vsnprintf (d i u x X o p s c %, flags "-+ 0#", width,
 * precision, lengths hh h l ll z j t, and f e g for doubles), and stdio over the console. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "core/platform.h"

struct out {
    char *buf;
    size_t cap, len;  /* len counts everything, even what did not fit */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

/* Emits a formatted field: sign/prefix, zero padding to `prec` digits, then the digits. */
static void field(struct out *o, const char *prefix, const char *digits, int ndigits, int prec,
                  int width, bool left, bool zero)
{
    int plen = (int)strlen(prefix);
    int zeros = prec > ndigits ? prec - ndigits : 0;
    int total = plen + zeros + ndigits;
    if (!left && !zero)
        pad(o, ' ', width - total);
    for (int i = 0; i < plen; i++)
        put(o, prefix[i]);
    if (!left && zero)
        pad(o, '0', width - total);
    pad(o, '0', zeros);
    for (int i = 0; i < ndigits; i++)
        put(o, digits[i]);
    if (left)
        pad(o, ' ', width - total);
}

static int utoa(char *end, unsigned long long v, unsigned base, bool upper)
{
    const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    do {
        *--end = d[v % base];
        v /= base;
        n++;
    } while (v);
    return n;
}

/* Doubles: enough for diagnostics and benchmark output (not correctly rounded in every case). */
static void fmt_double(struct out *o, double v, char conv, int prec, int width, bool left,
                       bool zero, const char *sign)
{
    char buf[400];
    char *p = buf;
    char pre[2] = { 0, 0 };
    if (v < 0 || (v == 0 && 1 / v < 0)) {
        pre[0] = '-';
        v = -v;
    } else if (*sign) {
        pre[0] = *sign;
    }
    if (v != v || v > 1.7976931348623157e308) {
        const char *s = v != v ? "nan" : "inf";
        field(o, pre, s, 3, 0, width, left, false);
        return;
    }
    if (prec < 0)
        prec = 6;
    if (prec > 30)
        prec = 30;
    int exp10 = 0;
    bool expo = conv == 'e' || conv == 'E';
    if (conv == 'g' || conv == 'G') {
        if (prec == 0)
            prec = 1;
        double t = v;
        int e = 0;
        if (t != 0) {
            while (t >= 10) t /= 10, e++;
            while (t < 1) t *= 10, e--;
        }
        expo = e < -4 || e >= prec;
        prec = expo ? prec - 1 : prec - 1 - e;
        if (prec < 0)
            prec = 0;
    }
    if (expo && v != 0) {
        while (v >= 10) v /= 10, exp10++;
        while (v < 1) v *= 10, exp10--;
    }
    double r = 0.5;
    for (int i = 0; i < prec; i++)
        r /= 10;
    v += r;
    if (expo && v >= 10) {
        v /= 10;
        exp10++;
    }
    if (v >= 1e19) { /* too big for the integer part below: print in exponent form */
        fmt_double(o, pre[0] == '-' ? -(v - r) : v - r, 'e', prec, width, left, zero, sign);
        return;
    }
    unsigned long long ip = (unsigned long long)v;
    double frac = v - (double)ip;
    char tmp[24];
    int n = utoa(tmp + sizeof tmp, ip, 10, false);
    memcpy(p, tmp + sizeof tmp - n, (size_t)n);
    p += n;
    if (prec) {
        *p++ = '.';
        for (int i = 0; i < prec; i++) {
            frac *= 10;
            int dgt = (int)frac;
            *p++ = (char)('0' + dgt);
            frac -= dgt;
        }
    }
    if ((conv == 'g' || conv == 'G') && prec) { /* %g drops trailing zeros */
        while (p[-1] == '0')
            p--;
        if (p[-1] == '.')
            p--;
    }
    if (expo) {
        *p++ = conv == 'E' || conv == 'G' ? 'E' : 'e';
        *p++ = exp10 < 0 ? '-' : '+';
        int e = exp10 < 0 ? -exp10 : exp10;
        if (e < 10)
            *p++ = '0';
        n = utoa(tmp + sizeof tmp, (unsigned)e, 10, false);
        memcpy(p, tmp + sizeof tmp - n, (size_t)n);
        p += n;
    }
    field(o, pre, buf, (int)(p - buf), 0, width, left, zero);
}

int vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = { buf, cap, 0 };
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        bool left = false, zero = false, alt = false;
        const char *sign = "";
        for (;; fmt++) {
            char c = fmt[1];
            if (c == '-') left = true;
            else if (c == '0') zero = true;
            else if (c == '#') alt = true;
            else if (c == '+') sign = "+";
            else if (c == ' ') { if (!*sign) sign = " "; }
            else break;
        }
        fmt++;
        int width = 0, prec = -1;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                left = true;
                width = -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(ap, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    prec = prec * 10 + (*fmt++ - '0');
            }
        }
        int lng = 0; /* -2 hh, -1 h, 0 int, 1 long, 2 long long */
        for (;; fmt++) {
            if (*fmt == 'h') lng--;
            else if (*fmt == 'l') lng++;
            else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') lng = 1;
            else if (*fmt == 'L') { }
            else break;
        }
        char conv = *fmt;
        if (!conv)
            break;
        char tmp[32];
        char *end = tmp + sizeof tmp;
        switch (conv) {
        case 'd':
        case 'i': {
            long long v = lng >= 1 ? va_arg(ap, long long) : va_arg(ap, int);
            if (lng == -1) v = (short)v;
            if (lng == -2) v = (signed char)v;
            unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            int n = prec == 0 && u == 0 ? 0 : utoa(end, u, 10, false);
            field(&o, v < 0 ? "-" : sign, end - n, n, prec, width, left, zero && prec < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            unsigned long long v = lng >= 1 ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
            if (lng == -1) v = (unsigned short)v;
            if (lng == -2) v = (unsigned char)v;
            unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
            int n = prec == 0 && v == 0 ? 0 : utoa(end, v, base, conv == 'X');
            const char *pre = alt && v ? (conv == 'x' ? "0x" : conv == 'X' ? "0X" : conv == 'o' ? "0" : "") : "";
            field(&o, pre, end - n, n, prec, width, left, zero && prec < 0);
            break;
        }
        case 'p': {
            uintptr_t v = (uintptr_t)va_arg(ap, void *);
            int n = utoa(end, v, 16, false);
            field(&o, "0x", end - n, n, prec, width, left, zero);
            break;
        }
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            field(&o, "", tmp, 1, 0, width, left, false);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int n = (int)(prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s));
            field(&o, "", s, n, 0, width, left, false);
            break;
        }
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G':
            fmt_double(&o, va_arg(ap, double), conv, prec, width, left, zero, sign);
            break;
        case 'n':
            *va_arg(ap, int *) = (int)o.len;
            break;
        case '%':
            put(&o, '%');
            break;
        default:
            put(&o, '%');
            put(&o, conv);
        }
    }
    if (cap)
        buf[o.len < cap ? o.len : cap - 1] = 0;
    return (int)o.len;
}

int vsprintf(char *buf, const char *fmt, va_list ap) { return vsnprintf(buf, SIZE_MAX / 2, fmt, ap); }

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

int sprintf(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsprintf(buf, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- stdio: one console; each call is written whole (the console keeps calls from different
 * cores from interleaving within a call). ---- */

struct native_file { int fd; };
static struct native_file files[3] = { { 0 }, { 1 }, { 2 } };
FILE *stdin = &files[0], *stdout = &files[1], *stderr = &files[2];

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
    (void)f;
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < (int)sizeof small) {
        platform_console_write(small, (size_t)n);
    } else {
        char big[4096];
        vsnprintf(big, sizeof big, fmt, ap2);
        platform_console_write(big, n < (int)sizeof big ? (size_t)n : sizeof big - 1);
    }
    va_end(ap2);
    return n;
}

int vprintf(const char *fmt, va_list ap) { return vfprintf(stdout, fmt, ap); }

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(stdout, fmt, ap);
    va_end(ap);
    return r;
}

int fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int fputs(const char *s, FILE *f)
{
    (void)f;
    platform_console_write(s, strlen(s));
    return 0;
}

int puts(const char *s)
{
    size_t n = strlen(s);
    char buf[256];
    if (n < sizeof buf) { /* one write, so the line stays whole */
        memcpy(buf, s, n);
        buf[n] = '\n';
        platform_console_write(buf, n + 1);
    } else {
        platform_console_write(s, n);
        platform_console_write("\n", 1);
    }
    return 0;
}

int fputc(int c, FILE *f)
{
    (void)f;
    char ch = (char)c;
    platform_console_write(&ch, 1);
    return (unsigned char)c;
}
int putc(int c, FILE *f) { return fputc(c, f); }
int putchar(int c) { return fputc(c, stdout); }

size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    (void)f;
    platform_console_write(p, size * n);
    return n;
}

int fflush(FILE *f)
{
    (void)f;
    return 0;
}

void perror(const char *s)
{
    extern int *native_errno_location(void);
    if (s && *s)
        fprintf(stderr, "%s: %s\n", s, strerror(*native_errno_location()));
    else
        fprintf(stderr, "%s\n", strerror(*native_errno_location()));
}
