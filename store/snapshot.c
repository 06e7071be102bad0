/*
 * snapshot.c: writing and reading the snapshot file (snapshot.h).
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"

#define MAGIC "LESNAP01"
#define HDR 32
#define MAX_PAYLOAD ((uint64_t)64 << 30)

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p) {
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int le_snapshot_write(const char *dir, le_logpos_t pos, const void *data, size_t len, char **msg) {
    *msg = NULL;
    uint8_t h[HDR];
    memcpy(h, MAGIC, 8);
    put32(h + 8, pos.seg);
    put64(h + 12, pos.off);
    put64(h + 20, len);
    uint32_t crc = le_crc32c(le_crc32c(0, h, 28), data, len);
    put32(h + 28, crc);

    char tmp[4096], final[4096];
    snprintf(tmp, sizeof(tmp), "%s/" LE_SNAPSHOT_FILE ".tmp", dir);
    snprintf(final, sizeof(final), "%s/" LE_SNAPSHOT_FILE, dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = 0;
    const char *step = "create";
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    step = "write";
    if ((rc = write_all(fd, h, HDR)) || (rc = write_all(fd, data, len))) goto out;
    step = "fsync";
    if (fsync(fd) != 0) {
        rc = -errno;
        goto out;
    }
    close(fd);
    fd = -1;
    step = "rename";
    if (rename(tmp, final) != 0) {
        rc = -errno;
        goto out;
    }
    step = "directory fsync";
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) rc = -errno;
    if (dfd >= 0) close(dfd);
out:
    if (fd >= 0) close(fd);
    if (rc) {
        *msg = le_strf("%s: snapshot %s failed: %s", dir, step, strerror(-rc));
        unlink(tmp);
    }
    return rc;
}

int le_snapshot_read(const char *dir, le_logpos_t *pos, le_buf_t *data, char **msg) {
    *msg = NULL;
    char path[4096];
    snprintf(path, sizeof(path), "%s/" LE_SNAPSHOT_FILE, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        if (rc != -ENOENT) *msg = le_strf("%s: %s", path, strerror(-rc));
        return rc;
    }
    int rc = 0;
    struct stat sb;
    uint8_t h[HDR];
    if (fstat(fd, &sb) != 0) {
        rc = -errno;
        *msg = le_strf("%s: %s", path, strerror(-rc));
        goto out;
    }
    if (sb.st_size < HDR || pread(fd, h, HDR, 0) != HDR || memcmp(h, MAGIC, 8) != 0) {
        rc = LE_ECORRUPT;
        *msg = le_strf("%s: not a leadedge snapshot (bad header)", path);
        goto out;
    }
    uint64_t len = get64(h + 20);
    if (len > MAX_PAYLOAD || (uint64_t)sb.st_size != HDR + len) {
        rc = LE_ECORRUPT;
        *msg = le_strf("%s: truncated: the header announces %llu bytes, the file has %llu", path,
                       (unsigned long long)len, (unsigned long long)(sb.st_size - HDR));
        goto out;
    }
    size_t at = data->len;
    le_buf_reserve(data, (size_t)len + 1);
    for (size_t got = 0; got < len;) {
        ssize_t k = pread(fd, data->data + at + got, (size_t)len - got, (off_t)(HDR + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            rc = k < 0 ? -errno : LE_ECORRUPT;
            *msg = le_strf("%s: read failed", path);
            goto out;
        }
        got += (size_t)k;
    }
    uint32_t crc = le_crc32c(le_crc32c(0, h, 28), data->data + at, (size_t)len);
    if (crc != get32(h + 28)) {
        rc = LE_ECORRUPT;
        *msg = le_strf("%s: checksum mismatch", path);
        goto out;
    }
    data->len = at + (size_t)len;
    pos->seg = get32(h + 8);
    pos->off = get64(h + 12);
out:
    close(fd);
    return rc;
}
