/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files for agents to download (server/files.h): the copy into <data>/files/<sha256> is
 * hashed as it is written, so a file of any size is read once and never held in memory;
 * the stored copy appears under its final name only complete and flushed (temp name,
 * fsync, rename, fsync of the directory). ward-server is Linux-only, so this file uses
 * POSIX calls directly.
 */
#define WARD_LOG_TAG "srv-files"

#include "server/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "server/app.h"
#include "server/commands.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/log.h"
#include "ward/store.h"

#define COPY_CHUNK ((size_t)256 * 1024)

static int errno_code(int e)
{
    switch (e) {
    case ENOENT:
        return WARD_ENOENT;
    case EACCES:
    case EPERM:
        return WARD_EACCES;
    case ENOSPC:
    case EDQUOT:
        return WARD_ENOSPC;
    case EISDIR:
        return WARD_EISDIR;
    case ENOMEM:
        return WARD_ENOMEM;
    default:
        return WARD_EIO;
    }
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno_code(errno);
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
    if (fd < 0)
        return errno_code(errno);
    if (fsync(fd) != 0)
        rc = errno_code(errno);
    close(fd);
    return rc;
}

/* Copies src into a new temp file in dir while hashing; *tmp_out (new) names it. */
static int copy_hashing(int src, const char *dir, char **tmp_out, char sha_hex[65], int64_t *len)
{
    static const char tmpl[] = "/.add.XXXXXX";
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    size_t n = strlen(dir) + sizeof(tmpl);
    char *tmp = ward_malloc(n), *buf = ward_malloc(COPY_CHUNK);
    int fd = -1, rc = 0;

    *tmp_out = NULL;
    *len = 0;
    if (!md || !tmp || !buf) {
        rc = WARD_ENOMEM;
        if (tmp)
            tmp[0] = '\0';
        goto out;
    }
    snprintf(tmp, n, "%s%s", dir, tmpl);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = errno_code(errno);
        tmp[0] = '\0';
        WARD_LOG_ERR(rc, "cannot create a file in %s", dir);
        goto out;
    }
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
        rc = errno_code(errno);
        goto out;
    }
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        rc = WARD_ECRYPTO;
        goto out;
    }
    for (;;) {
        ssize_t r = read(src, buf, COPY_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = errno_code(errno);
            goto out;
        }
        if (r == 0)
            break;
        if (EVP_DigestUpdate(md, buf, (size_t)r) != 1) {
            rc = WARD_ECRYPTO;
            goto out;
        }
        if ((rc = write_all(fd, buf, (size_t)r)) != 0)
            goto out;
        *len += r;
    }
    if (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != WARD_SHA256_LEN) {
        rc = WARD_ECRYPTO;
        goto out;
    }
    if ((rc = ward_hex_encode(digest, dlen, sha_hex, 65)) != 0)
        goto out;
    if (fsync(fd) != 0) {
        rc = errno_code(errno);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = errno_code(errno);
        goto out;
    }
    fd = -1;
    *tmp_out = tmp;
    tmp = NULL;
out:
    if (fd >= 0)
        close(fd);
    if (tmp && rc != 0 && tmp[0])
        unlink(tmp); /* tmp[0] is '\0' only before mkostemp named a file */
    ward_free(tmp);
    ward_free(buf);
    EVP_MD_CTX_free(md);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

static json_t *file_row(const char *sha, int64_t length, const char *name, int64_t added_at)
{
    char added[32], url[96];
    srv_time_iso(added_at, added, sizeof(added));
    snprintf(url, sizeof(url), "%s%s", SRV_FILES_URL_PREFIX, sha);
    return json_pack("{s:s, s:I, s:s?, s:s, s:s}", "sha256", sha, "length", (json_int_t)length,
                     "name", name, "added_at", added, "url", url);
}

int srv_file_add(struct srv_app *app, const char *path, json_t **out)
{
    char *dir = NULL, *tmp = NULL, *final = NULL, sha[65], detail[160];
    sqlite3_stmt *st = NULL;
    struct stat sb;
    int64_t len = 0, added_at = srv_now();
    int src = -1, rc;

    *out = NULL;
    src = open(path, O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return errno_code(errno);
    if (fstat(src, &sb) != 0) {
        rc = errno_code(errno);
        goto out;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size == 0) {
        rc = WARD_EINVAL; /* a device, FIFO or directory; or nothing to send */
        goto out;
    }
    dir = srv_app_path(app, SRV_FILES_DIR);
    if (!dir) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = errno_code(errno);
        WARD_LOG_ERR(rc, "cannot create %s", dir);
        goto out;
    }
    if ((rc = copy_hashing(src, dir, &tmp, sha, &len)) != 0)
        goto out;
    if (len == 0) {
        rc = WARD_EINVAL; /* shrank to nothing while we read it */
        goto out;
    }
    final = srv_path_join(dir, sha);
    if (!final) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if (rename(tmp, final) != 0) {
        rc = errno_code(errno);
        goto out;
    }
    ward_free(tmp);
    tmp = NULL;
    if ((rc = fsync_dir(dir)) != 0)
        goto out;

    if ((rc = ward_store_begin(app->store)) != 0)
        goto out;
    rc = ward_store_prepare(app->store,
                            "INSERT INTO files(sha256, length, name, added_at) VALUES"
                            " (?1, ?2, ?3, ?4) ON CONFLICT(sha256) DO NOTHING",
                            &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, len);
        sqlite3_bind_text(st, 3, base_name(path), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, added_at);
        rc = ward_store_step(app->store, st);
    }
    sqlite3_finalize(st);
    st = NULL;
    snprintf(detail, sizeof(detail), "%s %lld bytes %.64s", sha, (long long)len, base_name(path));
    if (rc == 0)
        rc = srv_event(app, "file_add", NULL, NULL, detail);
    if (rc == 0)
        rc = ward_store_commit(app->store);
    if (rc != 0) {
        ward_store_rollback(app->store);
        goto out;
    }
    /* What is recorded (the first name, the first time) is what is reported. */
    rc = ward_store_prepare(app->store,
                            "SELECT length, name, added_at FROM files WHERE sha256 = ?1", &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW) {
        *out = file_row(sha, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                        sqlite3_column_int64(st, 2));
        rc = *out ? 0 : WARD_ENOMEM;
    } else if (rc == 0) {
        rc = WARD_ESTORE;
    }
out:
    sqlite3_finalize(st);
    if (src >= 0)
        close(src);
    if (tmp)
        unlink(tmp);
    ward_free(tmp);
    ward_free(final);
    ward_free(dir);
    return rc;
}

int srv_file_list(struct srv_app *app, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_store_prepare(app->store,
                            "SELECT sha256, length, name, added_at FROM files ORDER BY added_at,"
                            " sha256",
                            &st);
    while (rc == 0 && (rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        json_t *f = file_row((const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                             (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3));
        rc = f && json_array_append_new(arr, f) == 0 ? 0 : WARD_ENOMEM;
    }
    sqlite3_finalize(st);
    if (rc == 0)
        *out = arr;
    else
        json_decref(arr);
    return rc;
}

int srv_file_length(struct srv_app *app, const char *sha256, int64_t *length)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (!srv_sha256_hex_ok(sha256))
        return WARD_ENOENT;
    rc = srv_stmt(app, "SELECT length FROM files WHERE sha256 = ?1", &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW) {
        *length = sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = WARD_ENOENT;
    }
    srv_stmt_done(app, st);
    return rc;
}

int srv_file_open(struct srv_app *app, const char *sha256, int *fd, int64_t *length)
{
    char rel[sizeof(SRV_FILES_DIR) + 66], *path = NULL;
    struct stat sb;
    int rc;

    *fd = -1;
    if ((rc = srv_file_length(app, sha256, length)) != 0)
        return rc;
    snprintf(rel, sizeof(rel), "%s/%s", SRV_FILES_DIR, sha256);
    path = srv_app_path(app, rel);
    if (!path)
        return WARD_ENOMEM;
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (*fd < 0) {
        rc = WARD_ECORRUPT;
        WARD_LOG_ERR(rc, "stored file %s: %s", path, strerror(errno));
    } else if (fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != *length) {
        rc = WARD_ECORRUPT;
        WARD_LOG_ERR(rc, "stored file %s is not the %lld bytes recorded", path, (long long)*length);
        close(*fd);
        *fd = -1;
    }
    ward_free(path);
    return rc;
}

/* Decimal digits at *p into *v, saturating at INT64_MAX; 0 when there are none. */
static int digits(const char **p, int64_t *v)
{
    const char *s = *p;
    *v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        *v = *v > (INT64_MAX - 9) / 10 ? INT64_MAX : *v * 10 + (*s - '0');
    if (s == *p)
        return 0;
    *p = s;
    return 1;
}

int srv_range_parse(const char *h, int64_t len, int64_t *first, int64_t *last)
{
    int64_t a = 0, b = 0;
    int have_a, have_b;

    if (!h)
        return 0;
    while (*h == ' ' || *h == '\t')
        h++;
    if (strncasecmp(h, "bytes", 5) != 0)
        return 0;
    h += 5;
    while (*h == ' ' || *h == '\t')
        h++;
    if (*h++ != '=' || strchr(h, ','))
        return 0; /* another unit, or several ranges: the whole body */
    while (*h == ' ' || *h == '\t')
        h++;
    have_a = digits(&h, &a);
    if (*h++ != '-')
        return 0;
    have_b = digits(&h, &b);
    while (*h == ' ' || *h == '\t')
        h++;
    if (*h || (!have_a && !have_b))
        return 0;
    if (!have_a) { /* the last b bytes */
        if (b == 0 || len == 0)
            return SRV_RANGE_UNSATISFIABLE;
        *first = b >= len ? 0 : len - b;
        *last = len - 1;
        return 1;
    }
    if (have_b && b < a)
        return 0; /* invalid: ignored */
    if (a >= len)
        return SRV_RANGE_UNSATISFIABLE;
    *first = a;
    *last = !have_b || b >= len ? len - 1 : b;
    return 1;
}
