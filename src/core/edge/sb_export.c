/* A visitor's data as one JSON document (issue 20, GDPR art. 15 and 20):
 * every conversation of theirs on a channel with its whole thread, and
 * their block; and the audit lines of the erasures (art. 17). */

#include "edge/sb_edge.h"


void
sb_query_visitor_export(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int channel, const char *visitor, int64_t now, sb_answer_t *ans)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix, k;
    sb_block_t   b;
    sb_conv_t    c;
    sb_page_t    all = { UINT32_MAX, 0 };
    sb_jw_t      w;
    int          rc, blocked, n = 0;

    sb_open_key(&k, tenant, channel, visitor);
    rc = sb_get(txn, st->db[SB_DB_BLOCK], &k, &val);
    blocked = rc == 0;
    if (rc == 0) {
        rc = sb_block_decode(val.mv_data, val.mv_size, &b);
    }
    if (rc && rc != MDB_NOTFOUND) {
        sb_store_error(ans, rc);
        return;
    }

    sb_jw_init(&w, 4096);
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "channel", sb_channel_name(channel));
    sb_jw_kstr(&w, "visitor", visitor);
    sb_jw_ktime(&w, "exported_at", now);
    sb_jw_key(&w, "block");
    if (blocked) {
        sb_render_block(&w, &b);
    } else {
        sb_jw_null(&w);
    }
    sb_jw_key(&w, "conversations");
    sb_jw_arr(&w);

    prefix = k;
    rc = mdb_cursor_open(txn, st->db[SB_DB_VISIT], &cur);
    if (rc == 0) {
        key = sb_key_val(&prefix);
        for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
             rc == 0 && sb_key_has_prefix(&key, &prefix);
             rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
        {
            if (key.mv_size != prefix.n + 8) {
                continue;
            }
            rc = sb_load_conv(st, txn, tenant,
                              sb_be64((unsigned char *) key.mv_data
                                      + prefix.n), &c);
            if (rc == MDB_NOTFOUND) {
                continue;          /* an index row ahead of its delete */
            }
            if (rc == 0) {
                rc = sb_render_conversation(&w, st, txn, tenant, &c, now,
                                            &all);
            }
            if (rc) {
                break;
            }
            n++;
        }
        mdb_cursor_close(cur);
    }
    if (rc && rc != MDB_NOTFOUND) {
        sb_jw_free(&w);
        sb_store_error(ans, rc);
        return;
    }
    if (n == 0 && !blocked) {
        sb_jw_free(&w);
        sb_answer_error(ans, 404, "unknown_visitor",
                        "no conversation of %s on %s", visitor,
                        sb_channel_name(channel));
        return;
    }
    sb_jw_arr_end(&w);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, ans);
}


#define SB_ERASURES_PAGE  100


/* {"erasures": [...], "cursor": n}: the audit lines after cursor */
void
sb_query_erasures(sb_store_t *st, MDB_txn *txn, const char *tenant,
    uint64_t cursor, sb_answer_t *ans)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix, from;
    sb_audit_t   a;
    sb_jw_t      w;
    char         hex[65];
    uint64_t     last = cursor;
    int          rc, n = 0, i;

    sb_key_init(&prefix, tenant);
    from = prefix;
    sb_key_u64(&from, cursor + 1);
    sb_jw_init(&w, 1024);
    sb_jw_obj(&w);
    sb_jw_key(&w, "erasures");
    sb_jw_arr(&w);
    rc = mdb_cursor_open(txn, st->db[SB_DB_AUDIT], &cur);
    if (rc == 0) {
        key = sb_key_val(&from);
        for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
             rc == 0 && n < SB_ERASURES_PAGE
             && sb_key_has_prefix(&key, &prefix)
             && key.mv_size == prefix.n + 8;
             rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
        {
            rc = sb_audit_decode(val.mv_data, val.mv_size, &a);
            if (rc) {
                break;
            }
            last = sb_be64((unsigned char *) key.mv_data + prefix.n);
            for (i = 0; i < 32; i++) {
                hex[i * 2] = "0123456789abcdef"[a.digest[i] >> 4];
                hex[i * 2 + 1] = "0123456789abcdef"[a.digest[i] & 15];
            }
            hex[64] = '\0';
            a.counts.audit = last;
            sb_jw_obj(&w);
            sb_jw_ktime(&w, "at", a.at);
            sb_jw_kstr(&w, "by", a.by);
            sb_jw_kstr(&w, "channel", sb_channel_name(a.channel));
            sb_jw_kstr(&w, "visitor_sha256", hex);
            sb_render_erased(&w, &a.counts);
            sb_jw_obj_end(&w);
            n++;
        }
        mdb_cursor_close(cur);
    }
    if (rc && rc != MDB_NOTFOUND) {
        sb_jw_free(&w);
        sb_store_error(ans, rc);
        return;
    }
    sb_jw_arr_end(&w);
    sb_jw_kint(&w, "cursor", (int64_t) last);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, ans);
}
