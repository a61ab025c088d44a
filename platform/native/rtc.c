/* The wall clock: the CMOS real-time clock (which QEMU keeps in UTC) read once, then advanced by
 * the monotonic clock, so CLOCK_REALTIME never jumps while the image runs. */
#include <stdbool.h>
#include <stdint.h>
#include "core/platform.h"
#include "core/spinlock.h"
#include "platform/native/native.h"

static uint8_t cmos(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int64_t rtc_read(void)
{
    uint8_t r[6], again[6];
    const uint8_t regs[6] = {0x00, 0x02, 0x04, 0x07, 0x08, 0x09}; /* s, min, h, day, month, year */
    do { /* read until two reads agree, outside an update */
        while (cmos(0x0a) & 0x80)
            ;
        for (int i = 0; i < 6; i++) r[i] = cmos(regs[i]);
        while (cmos(0x0a) & 0x80)
            ;
        for (int i = 0; i < 6; i++) again[i] = cmos(regs[i]);
    } while (__builtin_memcmp(r, again, sizeof r));
    uint8_t b = cmos(0x0b);
    bool pm = !(b & 0x02) && (r[2] & 0x80);
    r[2] &= 0x7f;
    if (!(b & 0x04)) /* BCD */
        for (int i = 0; i < 6; i++)
            r[i] = (uint8_t)((r[i] & 15) + (r[i] >> 4) * 10);
    unsigned hour = (b & 0x02) ? r[2] : r[2] % 12 + (pm ? 12 : 0); /* 24-hour or 12-hour mode */
    int64_t days = days_from_civil(2000 + r[5], r[4], r[3]);
    return days * 86400 + hour * 3600 + r[1] * 60 + r[0];
}

int64_t native_rtc_boot_ns; /* the wall clock at monotonic time 0 */
static int rtc_lock, rtc_done;

int64_t native_wall_ns(void)
{
    if (!__atomic_load_n(&rtc_done, __ATOMIC_ACQUIRE)) {
        spin_lock(&rtc_lock);
        if (!rtc_done) {
            uint64_t mono = platform_now_ns();
            native_rtc_boot_ns = rtc_read() * 1000000000 - (int64_t)mono;
            __atomic_store_n(&rtc_done, 1, __ATOMIC_RELEASE);
        }
        spin_unlock(&rtc_lock);
    }
    return native_rtc_boot_ns + (int64_t)platform_now_ns();
}
