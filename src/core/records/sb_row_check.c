/* Whether a row could be one of ours, by the database it is for: each
 * record decoded by its checked decoder, each index row of its size. For
 * rows that come from outside the store (sb-tenant import, issue 19). */

#include "records/sb_records.h"


static int
sb_record_ok(int db, const void *p, size_t n, const sb_config_t *cfg)
{
    union {
        sb_conv_t      c;
        sb_agent_t     a;
        sb_msg_t       m;
        sb_event_t     e;
        sb_handler_t   h;
        sb_block_t     b;
        sb_idem_t      i;
        sb_ledger_t    l;
        sb_outevent_t  o;
        sb_audit_t     au;
    } u;
    sb_span_t  x, y;

    switch (db) {
    case SB_DB_CONV:    return sb_conv_decode(p, n, &u.c, cfg) == 0;
    case SB_DB_AGENT:   return sb_agent_decode(p, n, &u.a, cfg) == 0;
    case SB_DB_MSG:     return sb_msg_decode(p, n, &u.m) == 0;
    case SB_DB_EVENT:   return sb_event_decode(p, n, &u.e) == 0;
    case SB_DB_HANDLER: return sb_handler_decode(p, n, &u.h) == 0;
    case SB_DB_BLOCK:   return sb_block_decode(p, n, &u.b) == 0;
    case SB_DB_IDEM:    return sb_idem_decode(p, n, &u.i) == 0;
    case SB_DB_LEDGER:  return sb_ledger_decode(p, n, &u.l) == 0;
    case SB_DB_HOOK:    return sb_outevent_decode(p, n, &u.o) == 0;
    case SB_DB_AUDIT:   return sb_audit_decode(p, n, &u.au) == 0;
    case SB_DB_GROUP:   return sb_pair_decode(p, n, 'G', &x, &y) == 0;
    case SB_DB_CANNED:  return sb_pair_decode(p, n, 'K', &x, &y) == 0;
    default:            return 0;
    }
}


int
sb_row_check(const sb_config_t *cfg, int db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
    const char  *k = key;
    size_t       t;

    if (db < 0 || db >= SB_DB_COUNT || klen == 0 || klen > SB_KEY_MAX) {
        return -1;
    }
    switch (db) {
    case SB_DB_TAGGED:
    case SB_DB_QUEUE:
    case SB_DB_STATE:
    case SB_DB_MEMBER:
    case SB_DB_READY:
    case SB_DB_SEEN:
    case SB_DB_VISIT:
        return vlen == 0 ? 0 : -1;
    case SB_DB_DEADLINE:
        /* be64 due, tenant, NUL, kind, be64 subject, be64 seq */
        t = klen > 8 ? strnlen(k + 8, klen - 8) : 0;
        return vlen == 0 && t && klen == 8 + t + 18
               && (unsigned char) k[8 + t + 1] < SB_DL_KINDS ? 0 : -1;
    case SB_DB_OPEN:
    case SB_DB_COUNTER:
        return vlen == 8 ? 0 : -1;
    case SB_DB_HELD:
        return vlen <= SB_ID_MAX && memchr(val, '\0', vlen) == NULL ? 0 : -1;
    case SB_DB_TAG:
        return vlen && vlen <= SB_TAG_MAX && memchr(val, '\0', vlen) == NULL
               ? 0 : -1;
    case SB_DB_META:
        /* sequences, marks, a provider account's binding, the last
         * failed event: small rows; the failed event is a record */
        t = strnlen(k, klen);
        if (t < klen && klen - t - 1 >= sizeof("#hook_error")
            && memcmp(k + t + 1, "#hook_error", sizeof("#hook_error")) == 0)
        {
            return sb_record_ok(SB_DB_HOOK, val, vlen, cfg) ? 0 : -1;
        }
        return vlen <= 8 + SB_ID_MAX ? 0 : -1;
    default:
        return sb_record_ok(db, val, vlen, cfg) ? 0 : -1;
    }
}
