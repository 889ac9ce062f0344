/* Keys: a tenant first, then strings ending in NUL and big-endian
 * integers, so that LMDB's byte order is the order the core needs. */

#include "store/sb_store.h"


void
sb_key_init(sb_key_t *k, const char *tenant)
{
    k->n = 0;
    k->overflow = 0;
    if (tenant) {
        sb_key_str(k, tenant);
    }
}


void
sb_key_raw(sb_key_t *k, const void *p, size_t n)
{
    if (k->n + n > SB_KEY_MAX) {
        k->overflow = 1;
        return;
    }
    memcpy(k->b + k->n, p, n);
    k->n += n;
}


void
sb_key_str(sb_key_t *k, const char *s)
{
    sb_key_raw(k, s, strlen(s) + 1);
}


void
sb_key_span(sb_key_t *k, sb_span_t s)
{
    static const unsigned char  nul = 0;

    sb_key_raw(k, s.p, s.n);
    sb_key_raw(k, &nul, 1);
}


void
sb_key_u8(sb_key_t *k, unsigned v)
{
    unsigned char  b = (unsigned char) v;

    sb_key_raw(k, &b, 1);
}


void
sb_key_u32(sb_key_t *k, uint32_t v)
{
    unsigned char  b[4] = {
        (unsigned char) (v >> 24), (unsigned char) (v >> 16),
        (unsigned char) (v >> 8), (unsigned char) v
    };

    sb_key_raw(k, b, 4);
}


void
sb_key_u64(sb_key_t *k, uint64_t v)
{
    unsigned char  b[8];
    int            i;

    for (i = 0; i < 8; i++) {
        b[i] = (unsigned char) (v >> ((7 - i) * 8));
    }
    sb_key_raw(k, b, 8);
}


uint64_t
sb_be64(const unsigned char *p)
{
    uint64_t  v = 0;
    int       i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}


uint32_t
sb_be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}
