/* sb-tenant: one tenant's rows out of a node's store into a file, from the
 * file into another node's store, and off the source (issue 12). */

/*
 * usage: sb-tenant list   STORE
 *        sb-tenant export STORE TENANT FILE
 *        sb-tenant import STORE TENANT FILE
 *        sb-tenant drop   STORE TENANT
 *
 * Every row of the store is keyed by its tenant first (the deadlines by
 * their due time, then the tenant), so a tenant is the rows of each named
 * database under its prefix, and the bindings of its provider accounts
 * (global rows valued by the tenant). Export reads them in one read
 * transaction (a consistent snapshot while the node serves its other
 * tenants) into a file only its owner reads, and takes only a paused
 * tenant (POST /admin/pause: no command of it commits any more), leaving
 * its pause out; import checks every row (decoded by its record's
 * decoder) and writes them in one write transaction (all or nothing);
 * drop deletes them in one and leaves a tombstone, so that a late request
 * to this node is answered 421 tenant_moved, not stored and stranded.
 *
 * The file: "SBTENANT" 0x01, the tenant (u32 length, bytes), then rows
 * (u8 database, u32 key length, key, u32 value length, value), then 0xff,
 * the row count (u64) and the SHA-256 of every byte before it. Integers
 * are little-endian.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "sb_core.h"

#define SB_MAGIC      "SBTENANT\001"
#define SB_MAGIC_LEN  9
#define SB_END        0xff


static const char  *sb_tool = "sb-tenant";


static int __attribute__((format(printf, 1, 2)))
sb_fail(const char *fmt, ...)
{
    va_list  ap;

    fprintf(stderr, "%s: ", sb_tool);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}


static int
sb_open(sb_store_t *st, sb_config_t *cfg, const char *path)
{
    char         err[512];
    struct stat  sb;
    char         data[4096];

    /* a store is made by its node; a typo must not make an empty one */
    snprintf(data, sizeof(data), "%s/data.mdb", path);
    if (stat(data, &sb) != 0) {
        return sb_fail("no store at %s (start its node once first)",
                       path);
    }
    memset(cfg, 0, sizeof(*cfg));
    st->cfg = cfg;
    /* map size 0: LMDB takes the one the node last wrote with (its
     * switchboard_store size=), so an import can grow the store as the
     * node could; a small one would be clamped to the used size and fill
     * at once (issue 19) */
    if (sb_store_open(st, path, 0, 0, err, sizeof(err)) != 0) {
        return sb_fail("cannot open the store %s: %s", path, err);
    }
    return 0;
}


/* Where a database's keys hold their tenant: the deadlines after their
 * be64 due time, every other one first. */
static size_t
sb_tenant_at(int db)
{
    return db == SB_DB_DEADLINE ? 8 : 0;
}


static int
sb_key_of(const MDB_val *key, int db, const char *tenant, size_t tlen)
{
    size_t  at = sb_tenant_at(db);

    return key->mv_size > at + tlen
           && memcmp((char *) key->mv_data + at, tenant, tlen + 1) == 0;
}


typedef int (*sb_row_each_pt)(int db, MDB_cursor *cur, MDB_val *key,
    MDB_val *val, void *data);


/* 1 when key is a provider account's binding (a global row) */
static int
sb_is_account(int db, const MDB_val *key)
{
    sb_key_t  mark;

    sb_account_key(&mark, 0, (sb_span_t) { "", 0 });
    mark.n -= 2;                                  /* the mark only */
    return db == SB_DB_META && sb_key_has_prefix(key, &mark);
}


/* The tenant's provider accounts: global rows, each valued by its
 * tenant, so all of them are read (there are as many as accounts). */
static int
sb_accounts_of(sb_store_t *st, MDB_txn *txn, const char *tenant,
    sb_row_each_pt each, void *data)
{
    MDB_cursor    *cur;
    MDB_val        key, val;
    sb_key_t       mark;
    sb_account_t   a;
    int            rc;

    sb_account_key(&mark, 0, (sb_span_t) { "", 0 });
    mark.n -= 2;
    SB_TRY(mdb_cursor_open(txn, st->db[SB_DB_META], &cur));
    key = sb_key_val(&mark);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &mark);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (sb_account_decode(&val, &a) == 0
            && strcmp(a.tenant, tenant) == 0)
        {
            rc = each(SB_DB_META, cur, &key, &val, data);
            if (rc) {
                break;
            }
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Each row of tenant, database by database; prefix seeks where the
 * tenant comes first, a full walk of the deadlines. */
static int
sb_rows_of(sb_store_t *st, MDB_txn *txn, const char *tenant,
    sb_row_each_pt each, void *data)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    size_t       tlen = strlen(tenant);
    int          db, rc;

    for (db = 0; db < SB_DB_COUNT; db++) {
        rc = mdb_cursor_open(txn, st->db[db], &cur);
        if (rc) {
            return rc;
        }
        if (sb_tenant_at(db)) {
            rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
        } else {
            key.mv_data = (void *) tenant;
            key.mv_size = tlen + 1;
            rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        }
        while (rc == 0) {
            if (sb_key_of(&key, db, tenant, tlen)) {
                rc = each(db, cur, &key, &val, data);
                if (rc) {
                    break;
                }
            } else if (!sb_tenant_at(db)) {
                break;              /* past the tenant's prefix */
            }
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
        }
        mdb_cursor_close(cur);
        if (rc && rc != MDB_NOTFOUND) {
            return rc;
        }
    }
    return sb_accounts_of(st, txn, tenant, each, data);
}


/* ---- list ---------------------------------------------------------- */

static int
sb_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


/* Every tenant with a row, once each, sorted: the first key of each
 * tenant in each database (the next tenant's starts past "tenant\1"). */
static int
sb_list(sb_store_t *st)
{
    MDB_txn     *txn;
    MDB_cursor  *cur;
    MDB_val      key, val;
    char         next[SB_ID_MAX + 2], **names = NULL, **grown;
    size_t       len, n = 0, i;
    int          db, rc = 0;

    SB_TRY(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn));
    for (db = 0; rc == 0 && db < SB_DB_COUNT; db++) {
        if (sb_tenant_at(db) || db == SB_DB_META) {
            continue;       /* META also holds rows of no tenant */
        }
        rc = mdb_cursor_open(txn, st->db[db], &cur);
        if (rc) {
            break;
        }
        rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
        while (rc == 0) {
            len = strnlen(key.mv_data, key.mv_size);
            if (len == 0 || len > SB_ID_MAX || len == key.mv_size) {
                break;
            }
            grown = realloc(names, (n + 1) * sizeof(char *));
            if (grown == NULL) {
                rc = ENOMEM;
                break;
            }
            names = grown;
            names[n] = strndup(key.mv_data, len);
            if (names[n++] == NULL) {
                rc = ENOMEM;
                break;
            }
            memcpy(next, key.mv_data, len);
            next[len] = '\1';
            key.mv_data = next;
            key.mv_size = len + 1;
            rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        }
        mdb_cursor_close(cur);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    mdb_txn_abort(txn);
    if (names) {
        qsort(names, n, sizeof(char *), sb_name_cmp);
    }
    for (i = 0; rc == 0 && i < n; i++) {
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0) {
            puts(names[i]);
        }
    }
    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    return rc ? sb_fail("reading the store: %s", mdb_strerror(rc)) : 0;
}


/* ---- export -------------------------------------------------------- */

/* a row of the tenant, its tombstone aside (a tenant moved away and
 * back: the import takes its place) */
static int
sb_any_row(int db, MDB_cursor *cur, MDB_val *key, MDB_val *val, void *data)
{
    const sb_key_t  *moved = data;

    if (db == SB_DB_META && key->mv_size == moved->n
        && memcmp(key->mv_data, moved->b, moved->n) == 0)
    {
        return 0;
    }
    return MDB_KEYEXIST;                  /* one is enough: stop */
}


typedef struct {
    FILE        *f;
    EVP_MD_CTX  *md;
    sb_key_t     pause;          /* the one row not exported */
    uint64_t     rows;
    int          in_flight;
    int64_t      now;
    int          failed;
} sb_out_t;


static void
sb_put_bytes(sb_out_t *o, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, o->f) != n) {
        o->failed = 1;
    }
    EVP_DigestUpdate(o->md, p, n);
}


static void
sb_put_u32(sb_out_t *o, uint32_t v)
{
    unsigned char  b[4] = { v, v >> 8, v >> 16, v >> 24 };

    sb_put_bytes(o, b, 4);
}


/*
 * A reply handed to a worker whose outcome has not come back would be
 * sent again by the target: while one is in flight (claimed, its lease
 * not over), the export waits for it.
 */
static int
sb_reply_in_flight(int db, const MDB_val *val, int64_t now)
{
    sb_msg_t  m;

    if (db != SB_DB_MSG || sb_msg_decode(val->mv_data, val->mv_size, &m))
    {
        return 0;
    }
    return m.delivery.state == SB_DLV_PENDING && m.delivery.due > now
           && m.delivery.due != m.delivery.retry_at;
}


static int
sb_export_row(int db, MDB_cursor *cur, MDB_val *key, MDB_val *val,
    void *data)
{
    sb_out_t       *o = data;
    unsigned char   d = (unsigned char) db;

    if (db == SB_DB_META && key->mv_size == o->pause.n
        && memcmp(key->mv_data, o->pause.b, o->pause.n) == 0)
    {
        return 0;                   /* the target serves it at once */
    }
    o->in_flight += sb_reply_in_flight(db, val, o->now);
    sb_put_bytes(o, &d, 1);
    sb_put_u32(o, (uint32_t) key->mv_size);
    sb_put_bytes(o, key->mv_data, key->mv_size);
    sb_put_u32(o, (uint32_t) val->mv_size);
    sb_put_bytes(o, val->mv_data, val->mv_size);
    o->rows++;
    return o->failed ? EIO : 0;
}


static int
sb_export(sb_store_t *st, const char *tenant, const char *path)
{
    sb_out_t        o;
    MDB_txn        *txn;
    unsigned char   end = SB_END, sum[EVP_MAX_MD_SIZE], count[8];
    unsigned int    sumlen = 0;
    char            tmp[4096];
    sb_key_t        moved;
    int             rc, i, fd, paused = 0, found = 0;

    memset(&o, 0, sizeof(o));
    snprintf(tmp, sizeof(tmp), "%s.part", path);
    /* the tenant's conversations: for its owner's eyes only */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    o.f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (o.f == NULL || fchmod(fd, 0600) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return sb_fail("cannot write %s: %s", tmp, strerror(errno));
    }
    o.md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(o.md, EVP_sha256(), NULL);
    o.now = sb_now_ms();

    sb_put_bytes(&o, SB_MAGIC, SB_MAGIC_LEN);
    sb_put_u32(&o, (uint32_t) strlen(tenant));
    sb_put_bytes(&o, tenant, strlen(tenant));

    sb_pause_key(&o.pause, tenant);
    rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        paused = sb_tenant_is_paused(st, txn, tenant);
        sb_moved_key(&moved, tenant);
        rc = paused ? sb_rows_of(st, txn, tenant, sb_export_row, &o)
                    : sb_rows_of(st, txn, tenant, sb_any_row, &moved);
        found = rc == MDB_KEYEXIST;
        rc = rc == MDB_KEYEXIST ? 0 : rc;
        mdb_txn_abort(txn);
    }
    sb_put_bytes(&o, &end, 1);
    for (i = 0; i < 8; i++) {
        count[i] = (unsigned char) (o.rows >> (8 * i));
    }
    sb_put_bytes(&o, count, 8);
    EVP_DigestFinal_ex(o.md, sum, &sumlen);
    EVP_MD_CTX_free(o.md);
    if (fwrite(sum, 1, sumlen, o.f) != sumlen || fflush(o.f) != 0
        || fsync(fileno(o.f)) != 0)
    {
        o.failed = 1;
    }
    fclose(o.f);

    if (rc || !paused || o.failed || o.in_flight || o.rows == 0) {
        unlink(tmp);
        if (rc) {
            return sb_fail("reading the store: %s", mdb_strerror(rc));
        }
        if (!paused && found) {
            return sb_fail("tenant \"%s\" is not paused here: POST "
                           "/admin/pause as its admin first, so that "
                           "nothing commits after the export", tenant);
        }
        if (o.failed) {
            return sb_fail("writing %s failed", tmp);
        }
        if (o.rows == 0 || !paused) {
            return sb_fail("the store holds no row of tenant \"%s\"",
                           tenant);
        }
        return sb_fail("%d repl%s in flight to a provider: try again "
                       "once answered", o.in_flight,
                       o.in_flight == 1 ? "y is" : "ies are");
    }
    if (rename(tmp, path) != 0) {
        return sb_fail("cannot rename to %s: %s", path, strerror(errno));
    }
    printf("exported tenant %s: %llu rows\n", tenant,
           (unsigned long long) o.rows);
    return 0;
}


/* ---- import -------------------------------------------------------- */

typedef struct {
    unsigned char  *p, *end;
} sb_in_t;


static int
sb_take(sb_in_t *in, void *dst, size_t n)
{
    if ((size_t) (in->end - in->p) < n) {
        return -1;
    }
    if (dst) {
        memcpy(dst, in->p, n);
    }
    in->p += n;
    return 0;
}


static int
sb_take_u32(sb_in_t *in, uint32_t *v)
{
    unsigned char  b[4];

    if (sb_take(in, b, 4)) {
        return -1;
    }
    *v = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t) b[3] << 24;
    return 0;
}


/* The whole file, checked: magic, checksum, the tenant it names. */
static int
sb_read_file(const char *path, const char *tenant, unsigned char **buf,
    sb_in_t *rows)
{
    FILE           *f;
    long            size;
    unsigned char  *p, sum[EVP_MAX_MD_SIZE];
    unsigned int    sumlen = 0;
    uint32_t        tlen;
    char            named[SB_ID_MAX + 1];
    sb_in_t         in;

    f = fopen(path, "rb");
    if (f == NULL) {
        return sb_fail("cannot read %s: %s", path, strerror(errno));
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc(size > 0 ? size : 1);
    if (p == NULL || size < SB_MAGIC_LEN + 4 + 1 + 8 + 32
        || fread(p, 1, size, f) != (size_t) size)
    {
        fclose(f);
        free(p);
        return sb_fail("%s is not a tenant export (too short)", path);
    }
    fclose(f);
    *buf = p;

    if (memcmp(p, SB_MAGIC, SB_MAGIC_LEN) != 0) {
        return sb_fail("%s is not a tenant export (no SBTENANT mark)",
                       path);
    }
    EVP_Digest(p, size - 32, sum, &sumlen, EVP_sha256(), NULL);
    if (sumlen != 32 || memcmp(sum, p + size - 32, 32) != 0) {
        return sb_fail("%s is damaged: its checksum does not match",
                       path);
    }
    in.p = p + SB_MAGIC_LEN;
    in.end = p + size - 32 - 9;            /* the rows end at the 0xff */
    if (sb_take_u32(&in, &tlen) || tlen == 0 || tlen > SB_ID_MAX
        || sb_take(&in, named, tlen) || in.end[0] != SB_END)
    {
        return sb_fail("%s is damaged: no tenant or no end mark", path);
    }
    named[tlen] = '\0';
    if (strcmp(named, tenant) != 0) {
        return sb_fail("%s holds tenant \"%s\", not the one named",
                       path, named);
    }
    *rows = in;
    return 0;
}


/* A row of the file for this tenant: under its prefix, or a binding of
 * one of its provider accounts, and decoded by its record's decoder. */
static const char *
sb_import_row_bad(sb_store_t *st, int db, MDB_val *key, MDB_val *val,
    const char *tenant)
{
    sb_account_t  a;

    if (sb_is_account(db, key)) {
        if (sb_account_decode(val, &a) != 0 || strcmp(a.tenant, tenant) != 0)
        {
            return "a provider account bound to another tenant";
        }
    } else if (!sb_key_of(key, db, tenant, strlen(tenant))) {
        return "a row of another tenant";
    }
    if (sb_row_check(st->cfg, db, key->mv_data, key->mv_size, val->mv_data,
                     val->mv_size) != 0)
    {
        return "a row no Switchboard writes (it does not decode)";
    }
    return NULL;
}


static int
sb_import(sb_store_t *st, const char *tenant, const char *path)
{
    unsigned char  *buf = NULL, db;
    sb_in_t         in;
    MDB_txn        *txn;
    MDB_val         key, val;
    sb_key_t        moved;
    uint32_t        klen, vlen;
    uint64_t        n = 0;
    const char     *bad = NULL;
    int             rc;

    if (sb_read_file(path, tenant, &buf, &in) != 0) {
        free(buf);
        return 1;
    }
    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc) {
        free(buf);
        return sb_fail("cannot write the store: %s", mdb_strerror(rc));
    }
    sb_moved_key(&moved, tenant);
    rc = sb_rows_of(st, txn, tenant, sb_any_row, &moved);
    if (rc == MDB_KEYEXIST) {
        mdb_txn_abort(txn);
        free(buf);
        return sb_fail("the store already holds rows of tenant \"%s\": "
                       "drop them first", tenant);
    }
    if (rc == 0) {
        /* moved away and back: the tombstone goes with the import */
        rc = sb_del(txn, st->db[SB_DB_META], &moved);
    }
    while (rc == 0 && in.p < in.end) {
        if (sb_take(&in, &db, 1) || db >= SB_DB_COUNT
            || sb_take_u32(&in, &klen) || klen == 0 || klen > SB_KEY_MAX)
        {
            rc = MDB_CORRUPTED;
            break;
        }
        key.mv_data = in.p;
        key.mv_size = klen;
        if (sb_take(&in, NULL, klen) || sb_take_u32(&in, &vlen)) {
            rc = MDB_CORRUPTED;
            break;
        }
        val.mv_data = in.p;
        val.mv_size = vlen;
        if (sb_take(&in, NULL, vlen)) {
            rc = MDB_CORRUPTED;
            break;
        }
        bad = sb_import_row_bad(st, db, &key, &val, tenant);
        if (bad) {
            rc = MDB_CORRUPTED;
            break;
        }
        rc = mdb_put(txn, st->db[db], &key, &val, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST && sb_is_account(db, &key)) {
            bad = "one of its provider accounts is another tenant's here";
        }
        n++;
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }
    free(buf);
    if (rc) {
        return sb_fail("nothing imported: %s", bad ? bad : mdb_strerror(rc));
    }
    printf("imported tenant %s: %llu rows; reload the node (nginx -s reload) "
           "so that its workers arm the tenant's deadlines\n", tenant,
           (unsigned long long) n);
    return 0;
}


/* ---- drop ---------------------------------------------------------- */

static int
sb_drop_row(int db, MDB_cursor *cur, MDB_val *key, MDB_val *val, void *data)
{
    (*(uint64_t *) data)++;
    return mdb_cursor_del(cur, 0);
}


static int
sb_drop(sb_store_t *st, const char *tenant)
{
    sb_key_t   moved;
    MDB_txn   *txn;
    uint64_t   n = 0;
    int        rc;

    sb_moved_key(&moved, tenant);
    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc == 0) {
        rc = sb_rows_of(st, txn, tenant, sb_drop_row, &n);
        /* a tombstone: what still reaches this node for the tenant (a
         * front not yet reloaded, a client holding the old address) is
         * answered 421 tenant_moved instead of being stored and lost */
        if (rc == 0) {
            rc = sb_put(txn, st->db[SB_DB_META], &moved, "", 0);
        }
        rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
    }
    if (rc) {
        return sb_fail("nothing dropped: %s", mdb_strerror(rc));
    }
    printf("dropped tenant %s: %llu rows; a tombstone answers its late "
           "requests 421\n", tenant, (unsigned long long) n);
    return 0;
}


int
main(int argc, char **argv)
{
    sb_store_t   st;
    sb_config_t  cfg;
    const char  *cmd = argc > 1 ? argv[1] : "";
    int          rc, need;

    need = strcmp(cmd, "list") == 0 ? 3
           : strcmp(cmd, "drop") == 0 ? 4
           : strcmp(cmd, "export") == 0 || strcmp(cmd, "import") == 0 ? 5
           : 0;
    if (need == 0 || argc != need) {
        fprintf(stderr, "usage: %s list STORE\n"
                "       %s export STORE TENANT FILE\n"
                "       %s import STORE TENANT FILE\n"
                "       %s drop STORE TENANT\n",
                sb_tool, sb_tool, sb_tool, sb_tool);
        return 2;
    }
    if (need > 3 && !sb_valid_id(argv[3], strlen(argv[3]), 0)) {
        return sb_fail("\"%s\" is not a tenant id", argv[3]);
    }
    if (sb_open(&st, &cfg, argv[2]) != 0) {
        return 1;
    }
    rc = cmd[0] == 'l' ? sb_list(&st)
         : cmd[0] == 'e' ? sb_export(&st, argv[3], argv[4])
         : cmd[0] == 'i' ? sb_import(&st, argv[3], argv[4])
         : sb_drop(&st, argv[3]);
    sb_store_close(&st);
    return rc;
}
