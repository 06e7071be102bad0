/*
 * ranges.c: company ranges from a CSV file, flattened into disjoint intervals for lookup.
 *
 * Load = read the whole file, parse every record (collecting errors, up to a cap), sort the
 * networks, reject duplicates, then sweep them once with a stack of open networks to produce the
 * start points of disjoint intervals, each labelled with its most specific network (or "none" for
 * a gap). A lookup is a binary search for the last start <= address.
 *
 * All addresses live in one 128-bit space: IPv6 as is, IPv4 as its mapped form ::ffff:a.b.c.d,
 * so an IPv4 address, an IPv4-mapped IPv6 address and an IPv4 network all meet in the same place.
 */
#include "ranges.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unistr.h>

#define MAX_FILE (256u << 20)
#define MAX_COMPANY 256
#define MAX_DOMAIN 253
#define NONE UINT32_MAX

typedef unsigned __int128 u128;

typedef struct {
    uint32_t company_off, company_len;
    uint32_t domain_off, domain_len;
} entry_t;

struct le_ranges_s {
    atomic_int refs;
    char *path; /* NULL when loaded from a string */
    struct stat st;
    int fd; /* the file, kept open so that its inode number cannot be reused by a replacement
               (le_ranges_changed compares inode numbers); -1 when loaded from a string */
    char *strings;
    entry_t *entries;
    size_t nentries;
    u128 *starts;     /* interval i covers [starts[i], starts[i+1]) (the last: to the end) */
    uint32_t *labels; /* entry index, or NONE for a gap */
    size_t nint;
};

/* One parsed network, before flattening. */
typedef struct {
    u128 start, end;
    uint32_t line;
    uint32_t entry;
    uint8_t prefix; /* in the 128-bit space */
} net_t;

typedef struct {
    const char *name;
    le_buf_t *err;
    unsigned nerr;
    bool stopped;
    /* results */
    net_t *nets;
    size_t nnets, capnets;
    le_buf_t strings;
    entry_t *entries;
    size_t nentries, capentries;
} loader_t;

static void error(loader_t *L, unsigned line, const char *fmt, ...) LE_PRINTF(3, 4);

static void error(loader_t *L, unsigned line, const char *fmt, ...) {
    if (L->stopped) return;
    if (L->nerr == LE_RANGES_MAX_ERRORS) {
        le_buf_printf(L->err, "%s: too many errors, stopped after %d\n", L->name,
                      LE_RANGES_MAX_ERRORS);
        L->stopped = true;
        return;
    }
    L->nerr++;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    le_buf_printf(L->err, "%s:%u: %s\n", L->name, line, msg);
}

/* A field for quoting in a message: control characters become '?', at most 64 bytes. */
static const char *show(le_str_t s, char *buf, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < s.len && n + 4 < cap; i++) {
        if (n == 64) {
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
        unsigned char ch = (unsigned char)s.ptr[i];
        buf[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    buf[n] = '\0';
    return buf;
}

static le_str_t trim(le_str_t s) {
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) s.ptr++, s.len--;
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t')) s.len--;
    return s;
}

static u128 bytes_to_u128(const uint8_t b[16]) {
    u128 v = 0;
    for (int i = 0; i < 16; i++) v = (v << 8) | b[i];
    return v;
}

static void u128_to_bytes(u128 v, uint8_t b[16]) {
    for (int i = 15; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
}

static u128 ip_key(const le_ip_t *ip) {
    uint8_t b[16];
    if (ip->family == AF_INET) {
        memset(b, 0, 10);
        b[10] = b[11] = 0xff;
        memcpy(b + 12, ip->addr, 4);
        return bytes_to_u128(b);
    }
    return bytes_to_u128(ip->addr);
}

/* Mask with the low (128 - prefix) bits set. */
static u128 host_mask(unsigned prefix) {
    return prefix >= 128 ? 0 : (~(u128)0) >> prefix;
}

/* Parse and check the network field; on success fill n->start/end/prefix. */
static bool parse_network(loader_t *L, unsigned line, le_str_t f, net_t *n) {
    char show_buf[80], text[64], fix[INET6_ADDRSTRLEN];
    if (f.len == 0) {
        error(L, line, "network is empty");
        return false;
    }
    if (f.len >= sizeof text) goto bad;
    memcpy(text, f.ptr, f.len);
    text[f.len] = '\0';
    if (memchr(text, '\0', f.len)) goto bad;
    char *slash = strchr(text, '/');
    long prefix = -1;
    if (slash) {
        *slash = '\0';
        const char *p = slash + 1;
        if (*p < '0' || *p > '9' || strlen(p) > 3) goto bad;
        char *end;
        prefix = strtol(p, &end, 10);
        if (*end) goto bad;
    }
    uint8_t b[16];
    int family;
    if (inet_pton(AF_INET, text, b + 12) == 1) {
        family = AF_INET;
        memset(b, 0, 10);
        b[10] = b[11] = 0xff;
    } else if (inet_pton(AF_INET6, text, b) == 1) {
        family = AF_INET6;
    } else {
        goto bad;
    }
    unsigned max = family == AF_INET ? 32 : 128;
    if (prefix < 0) prefix = max;
    if ((unsigned long)prefix > max) {
        error(L, line, "network \"%s\": prefix length must be 0..%u for %s",
              show(f, show_buf, sizeof show_buf), max, family == AF_INET ? "IPv4" : "IPv6");
        return false;
    }
    unsigned p128 = (unsigned)prefix + (family == AF_INET ? 96 : 0);
    u128 v = bytes_to_u128(b);
    if (v & host_mask(p128)) {
        uint8_t nb[16];
        u128_to_bytes(v & ~host_mask(p128), nb);
        inet_ntop(family, family == AF_INET ? nb + 12 : nb, fix, sizeof fix);
        error(L, line, "network \"%s\": host bits set beyond /%ld (did you mean %s/%ld?)",
              show(f, show_buf, sizeof show_buf), prefix, fix, prefix);
        return false;
    }
    n->start = v;
    n->end = v | host_mask(p128);
    n->prefix = (uint8_t)p128;
    return true;
bad:
    error(L, line, "network \"%s\": not an IP address or CIDR (such as 192.0.2.0/24)",
          show(f, show_buf, sizeof show_buf));
    return false;
}

static bool domain_valid(const char *s, size_t n) {
    if (n == 0 || n > MAX_DOMAIN || s[0] == '.' || s[n - 1] == '.') return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
        if (++label > 63) return false;
    }
    return true;
}

/* Check one record's fields and add it. */
static void add_record(loader_t *L, unsigned line, le_str_t *fields, size_t nf) {
    char show_buf[80];
    if (nf < 2 || nf > 3) {
        error(L, line, "expected 2 or 3 fields (network,company,domain), found %zu", nf);
        return;
    }
    net_t n;
    bool ok = parse_network(L, line, fields[0], &n);
    le_str_t company = fields[1];
    if (company.len == 0) {
        error(L, line, "company is empty");
        ok = false;
    } else if (company.len > MAX_COMPANY) {
        error(L, line, "company is longer than %d bytes", MAX_COMPANY);
        ok = false;
    } else if (u8_check((const uint8_t *)company.ptr, company.len)) {
        error(L, line, "company is not valid UTF-8");
        ok = false;
    } else {
        for (size_t i = 0; i < company.len; i++) {
            unsigned char c = (unsigned char)company.ptr[i];
            if (c < 0x20 || c == 0x7f) {
                error(L, line, "company contains a control character");
                ok = false;
                break;
            }
        }
    }
    le_str_t domain = nf == 3 ? fields[2] : LE_STR_NULL;
    char dom[MAX_DOMAIN + 1];
    if (domain.len) {
        bool good = domain.len <= MAX_DOMAIN;
        if (good) {
            for (size_t i = 0; i < domain.len; i++) {
                char c = domain.ptr[i];
                dom[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
            }
            good = domain_valid(dom, domain.len);
        }
        if (!good) {
            error(L, line, "domain \"%s\": expected a host name such as example.com",
                  show(domain, show_buf, sizeof show_buf));
            ok = false;
        }
    }
    if (!ok) return;

    if (L->nentries == L->capentries) {
        L->capentries = L->capentries ? 2 * L->capentries : 64;
        L->entries = le_xrealloc(L->entries, L->capentries * sizeof *L->entries);
    }
    entry_t *e = &L->entries[L->nentries];
    e->company_off = (uint32_t)L->strings.len;
    e->company_len = (uint32_t)company.len;
    le_buf_putstr(&L->strings, company);
    e->domain_off = (uint32_t)L->strings.len;
    e->domain_len = (uint32_t)domain.len;
    le_buf_append(&L->strings, dom, domain.len);

    if (L->nnets == L->capnets) {
        L->capnets = L->capnets ? 2 * L->capnets : 64;
        L->nets = le_xrealloc(L->nets, L->capnets * sizeof *L->nets);
    }
    n.line = line;
    n.entry = (uint32_t)L->nentries++;
    L->nets[L->nnets++] = n;
}

/* The scratch copy of unquoted-and-unescaped field text for one record. */
#define MAX_FIELDS 8

/*
 * Parse the CSV. Records end at LF (a CR before it is dropped) outside quotes. A field is
 * unquoted (trimmed of blanks) or quoted ("..." with "" for a quote, blanks allowed around it);
 * quoted fields may span lines.
 */
static void parse(loader_t *L, const char *p, size_t len) {
    const char *end = p + len;
    unsigned line = 1;
    bool first_record = true;
    le_buf_t scratch = LE_BUF_INIT;

    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) p += 3;
    while (p < end && !L->stopped) {
        unsigned rec_line = line;
        /* Blank lines and comments. */
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t')) q++;
        if (q == end || *q == '\n' || *q == '#' || (*q == '\r' && (q + 1 == end || q[1] == '\n'))) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            p = nl ? nl + 1 : end;
            line++;
            continue;
        }
        /* One record: collect fields into scratch (offsets), then check them. */
        size_t offs[MAX_FIELDS + 1], lens[MAX_FIELDS + 1], nf = 0;
        bool bad = false;
        le_buf_reset(&scratch);
        for (;;) {
            while (p < end && (*p == ' ' || *p == '\t')) p++;
            size_t off = scratch.len;
            if (p < end && *p == '"') {
                p++;
                bool closed = false;
                while (p < end) {
                    if (*p == '"') {
                        if (p + 1 < end && p[1] == '"') {
                            le_buf_append(&scratch, "\"", 1);
                            p += 2;
                            continue;
                        }
                        p++;
                        closed = true;
                        break;
                    }
                    if (*p == '\n') line++;
                    le_buf_append(&scratch, p, 1);
                    p++;
                }
                if (!closed) {
                    error(L, rec_line, "unterminated quoted field");
                    bad = true;
                    p = end;
                    break;
                }
                while (p < end && (*p == ' ' || *p == '\t')) p++;
                if (p < end && *p != ',' && *p != '\n' &&
                    !(*p == '\r' && p + 1 < end && p[1] == '\n') && !(*p == '\r' && p + 1 == end)) {
                    error(L, line, "unexpected character after a closing quote");
                    bad = true;
                }
            } else {
                const char *s = p;
                while (p < end && *p != ',' && *p != '\n') {
                    if (*p == '"' && !bad) {
                        error(L, line, "quote inside an unquoted field (quote the whole field)");
                        bad = true;
                    }
                    p++;
                }
                le_str_t t = {s, (size_t)(p - s)};
                if (t.len && t.ptr[t.len - 1] == '\r' && (p == end || *p == '\n')) t.len--;
                t = trim(t);
                le_buf_putstr(&scratch, t);
            }
            if (nf <= MAX_FIELDS) {
                offs[nf] = off;
                lens[nf] = scratch.len - off;
            }
            nf++;
            if (bad) {
                /* Skip the rest of this record's line. */
                while (p < end && *p != '\n') p++;
            }
            if (p < end && *p == ',' && !bad) {
                p++;
                continue;
            }
            if (p < end && *p == '\r') p++;
            if (p < end && *p == '\n') p++, line++;
            break;
        }
        if (bad) {
            first_record = false;
            continue;
        }
        le_str_t fields[MAX_FIELDS + 1];
        size_t nkept = nf <= MAX_FIELDS ? nf : MAX_FIELDS + 1;
        for (size_t i = 0; i < nkept; i++) fields[i] = (le_str_t){scratch.data + offs[i], lens[i]};
        if (first_record) {
            first_record = false;
            if ((nf == 3 || nf == 2) && le_str_ieq(fields[0], "network") &&
                le_str_ieq(fields[1], "company") && (nf == 2 || le_str_ieq(fields[2], "domain")))
                continue;
        }
        add_record(L, rec_line, fields, nf);
    }
    le_buf_free(&scratch);
}

static int cmp_net(const void *a, const void *b) {
    const net_t *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->prefix != y->prefix) return x->prefix < y->prefix ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static void format_net(const net_t *n, char *out) {
    uint8_t b[16];
    u128_to_bytes(n->start, b);
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char addr[INET6_ADDRSTRLEN];
    if (n->prefix >= 96 && memcmp(b, mapped, 12) == 0) {
        inet_ntop(AF_INET, b + 12, addr, sizeof addr);
        sprintf(out, "%s/%u", addr, n->prefix - 96u);
    } else {
        inet_ntop(AF_INET6, b, addr, sizeof addr);
        sprintf(out, "%s/%u", addr, n->prefix);
    }
}

static void emit(le_ranges_t *r, size_t *cap, u128 start, uint32_t label) {
    if (r->nint && r->starts[r->nint - 1] == start) {
        r->labels[r->nint - 1] = label;
        return;
    }
    if (r->nint && r->labels[r->nint - 1] == label) return; /* same label continues */
    if (r->nint == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        r->starts = le_xrealloc(r->starts, *cap * sizeof *r->starts);
        r->labels = le_xrealloc(r->labels, *cap * sizeof *r->labels);
    }
    r->starts[r->nint] = start;
    r->labels[r->nint] = label;
    r->nint++;
}

/* Sweep the sorted, duplicate-free networks into disjoint labelled intervals. */
static void flatten(le_ranges_t *r, const net_t *nets, size_t n) {
    size_t cap = 0, depth = 0;
    const net_t **stack = le_xmalloc((n ? n : 1) * sizeof *stack);
    for (size_t i = 0; i < n; i++) {
        const net_t *x = &nets[i];
        while (depth && stack[depth - 1]->end < x->start) {
            const net_t *top = stack[--depth];
            emit(r, &cap, top->end + 1, depth ? stack[depth - 1]->entry : NONE);
        }
        emit(r, &cap, x->start, x->entry);
        stack[depth++] = x;
    }
    while (depth) {
        const net_t *top = stack[--depth];
        if (top->end != ~(u128)0)
            emit(r, &cap, top->end + 1, depth ? stack[depth - 1]->entry : NONE);
    }
    free(stack);
}

static void ranges_free(le_ranges_t *r) {
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    free(r->path);
    free(r->strings);
    free(r->entries);
    free(r->starts);
    free(r->labels);
    free(r);
}

static int load(const char *name, const char *path, const struct stat *st, const char *csv,
                size_t len, le_ranges_t **out, le_buf_t *err) {
    loader_t L = {.name = name, .err = err, .strings = LE_BUF_INIT};
    le_ranges_t *r = NULL;
    int rc = 0;

    *out = NULL;
    parse(&L, csv, len);
    if (L.nnets > 1) qsort(L.nets, L.nnets, sizeof *L.nets, cmp_net);
    for (size_t i = 1; i < L.nnets; i++) {
        const net_t *a = &L.nets[i - 1], *b = &L.nets[i];
        if (a->start == b->start && a->prefix == b->prefix) {
            char text[INET6_ADDRSTRLEN + 8];
            format_net(b, text);
            error(&L, b->line, "duplicate network %s (first on line %u)", text, a->line);
        }
    }
    if (L.nerr) {
        rc = LE_EINVAL;
        goto done;
    }
    r = le_xcalloc(1, sizeof *r);
    atomic_init(&r->refs, 1);
    r->fd = -1;
    if (path) {
        r->path = le_xstrdup(path);
        r->st = *st;
    }
    flatten(r, L.nets, L.nnets);
    r->strings = L.strings.data ? L.strings.data : le_xcalloc(1, 1);
    L.strings.data = NULL;
    r->entries = L.entries;
    r->nentries = L.nentries;
    L.entries = NULL;
    *out = r;
done:
    free(L.nets);
    free(L.entries);
    le_buf_free(&L.strings);
    return rc;
}

int le_ranges_load_string(const char *name, const char *csv, size_t len, le_ranges_t **out,
                          le_buf_t *err) {
    return load(name ? name : "<string>", NULL, NULL, csv, len, out, err);
}

int le_ranges_load(const char *csv_path, le_ranges_t **out, le_buf_t *err) {
    struct stat st;
    char *data = NULL;
    int rc = 0, fd;

    *out = NULL;
    fd = open(csv_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        le_buf_printf(err, "%s: cannot open: %s\n", csv_path, strerror(errno));
        return rc;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        le_buf_printf(err, "%s: cannot stat: %s\n", csv_path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        le_buf_printf(err, "%s: not a regular file\n", csv_path);
        goto done;
    }
    if ((uint64_t)st.st_size > MAX_FILE) {
        rc = LE_ETOOBIG;
        le_buf_printf(err, "%s: larger than %u MiB\n", csv_path, MAX_FILE >> 20);
        goto done;
    }
    size_t size = (size_t)st.st_size, got = 0;
    data = le_xmalloc(size ? size : 1);
    while (got < size) {
        ssize_t k = read(fd, data + got, size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            rc = -errno;
            le_buf_printf(err, "%s: read error: %s\n", csv_path, strerror(errno));
            goto done;
        }
        if (k == 0) break; /* shrank while reading: parse what is there */
        got += (size_t)k;
    }
    rc = load(csv_path, csv_path, &st, data, got, out, err);
    if (rc == 0) {
        (*out)->fd = fd;
        fd = -1;
    }
done:
    free(data);
    if (fd >= 0) close(fd);
    return rc;
}

le_ranges_t *le_ranges_ref(le_ranges_t *r) {
    if (r) atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    return r;
}

void le_ranges_unref(le_ranges_t *r) {
    if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) ranges_free(r);
}

bool le_ranges_find(const le_ranges_t *r, const le_ip_t *ip, le_str_t *company, le_str_t *domain) {
    if (!r || r->nint == 0 || (ip->family != AF_INET && ip->family != AF_INET6)) return false;
    u128 k = ip_key(ip);
    /* Last start <= k. */
    size_t lo = 0, hi = r->nint;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->starts[mid] <= k)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return false;
    uint32_t label = r->labels[lo - 1];
    if (label == NONE) return false;
    const entry_t *e = &r->entries[label];
    if (company) *company = (le_str_t){r->strings + e->company_off, e->company_len};
    if (domain)
        *domain =
            e->domain_len ? (le_str_t){r->strings + e->domain_off, e->domain_len} : LE_STR_NULL;
    return true;
}

size_t le_ranges_count(const le_ranges_t *r) {
    return r ? r->nentries : 0;
}

bool le_ranges_changed(const le_ranges_t *r) {
    struct stat st;
    if (!r || !r->path) return false;
    if (stat(r->path, &st) != 0) return true;
    return st.st_dev != r->st.st_dev || st.st_ino != r->st.st_ino || st.st_size != r->st.st_size ||
           st.st_mtim.tv_sec != r->st.st_mtim.tv_sec || st.st_mtim.tv_nsec != r->st.st_mtim.tv_nsec;
}
