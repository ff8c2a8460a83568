/*
 * date.c: ISO dates as the index keeps them: a yyyymmdd integer, with 00 for
 * a missing month or day ("2024" -> 20240000), so that integer order is
 * date order and a year or month is a contiguous range.
 */
#include "base.h"

/* Read exactly n digits from s into *v. */
static bool digits(const char *s, size_t n, unsigned *v)
{
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    *v = x;
    return true;
}

bool esi_date_parse(const char *s, size_t len, uint32_t *out)
{
    unsigned y, m = 0, d = 0;
    if (len != 4 && len != 7 && len != 10)
        return false;
    if (!digits(s, 4, &y) || y < 1)
        return false;
    if (len >= 7 && (s[4] != '-' || !digits(s + 5, 2, &m) || m < 1 || m > 12))
        return false;
    if (len == 10 && (s[7] != '-' || !digits(s + 8, 2, &d) || d < 1 || d > 31))
        return false;
    *out = y * 10000 + m * 100 + d;
    return true;
}
