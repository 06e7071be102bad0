/*
 * company.c: the normalised key of a company name (rules in company.h and
 * docs/enrich-text.md).
 *
 * Two passes. The first maps the name, character by character, into a working buffer of
 * words separated by single spaces. Three ways in, one word writer: pure-ASCII names byte
 * by byte; names whose other characters are all Latin-1 or Latin Extended-A (most European
 * names) by a direct mapping that needs no normalisation; anything else after
 * libunistring's case folding with NFKC (so full-width letters, ligatures and the like are
 * folded before we look at them). The fast paths allocate nothing for names up to 255 bytes
 * and give exactly the Unicode path's key (the unit test compares them character by
 * character). The second pass edits the ends of the buffer: a leading "the", then trailing
 * legal forms, longest first, until none matches or one word is left.
 *
 * A legal form matches the last k words when those words, joined without spaces, spell it:
 * "S.à r.l." is the words "s a r l" and spells "sarl"; "GmbH" is one word. Only whole words
 * are ever compared, so "Glasag" and "Asco" keep their letters.
 */
#include "company.h"

#include <stdlib.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

/* Legal forms as spelled by their words joined, after folding; sorted for bsearch. */
/* clang-format off */
static const char *const forms[] = {
    "ab", "abp", "ag", "aksjeselskap", "aktiebolag", "aktiengesellschaft", "aktieselskab",
    "anpartsselskab", "aps", "as", "asa", "beslotenvennootschap", "bhd", "bt", "bv", "bvba", "cie",
    "co", "company", "corp", "corporation", "doo", "eg", "ehf", "eingetragenegenossenschaft",
    "eingetragenekauffrau", "eingetragenerkaufmann", "eingetragenerverein", "eireli", "ek", "eurl",
    "ev", "gbr", "gesellschaftbuergerlichenrechts", "gesellschaftburgerlichenrechts",
    "gesellschaftmbh", "gesellschaftmitbeschraenkterhaftung", "gesellschaftmitbeschrankterhaftung",
    "gesmbh", "ggmbh", "gk", "gmbh", "godokaisha", "haftungsbeschraenkt", "haftungsbeschrankt",
    "hf", "inc", "incorporated", "kabushikikaisha", "kft", "kg", "kgaa", "kk",
    "kommanditgesellschaft", "kommanditgesellschaftaufaktien", "lda", "limited",
    "limitedliabilitycompany", "limitedliabilitypartnership", "limitedpartnership", "llc", "llp",
    "lp", "ltd", "ltda", "mbh", "naamlozevennootschap", "nv", "nyrt", "offenehandelsgesellschaft",
    "ohg", "osakeyhtio", "osakeyhtioe", "oy", "oyj", "partg", "partgmbb", "plc", "pllc",
    "privatelimited", "proprietarylimited", "pte", "pty", "publ", "publiclimitedcompany", "pvt",
    "sa", "sadecv", "sagl", "sarl", "sas", "sasu", "sau", "sca", "sderl", "sderldecv", "sdnbhd",
    "se", "sl", "slu", "snc", "sociedadanonima", "sociedadderesponsabilidadlimitada",
    "sociedadlimitada", "societaaresponsabilitalimitata", "societaperazioni", "societeanonyme",
    "societearesponsabilitelimitee", "societeparactionssimplifiee", "spa",
    "spolkazograniczonaodpowiedzialnoscia", "spolsro", "spzoo", "srl", "srls", "sro", "tbk", "ug",
    "unternehmergesellschaft", "vof", "zrt",
};
/* clang-format on */

#define FORM_MAX_WORDS 8 /* "S. de R.L. de C.V." is seven words */
#define FORM_MAX_LEN 40  /* longer than the longest form */
#define STACK_KEY 1024   /* working buffer on the stack: ASCII names up to 255 bytes */
#define STACK_NAME 512   /* sanitised copy and case-folded text on the stack */
/* Room the word writer needs for n bytes of (folded) text: '&' grows to " and". */
#define KEY_BOUND(n) (4 * (n) + 1)

bool le__company_forms_ok(void) {
    for (size_t i = 0; i < LE_ARRAY_SIZE(forms); i++) {
        size_t n = strlen(forms[i]);
        if (n == 0 || n >= FORM_MAX_LEN) return false;
        for (size_t j = 0; j < n; j++)
            if (forms[i][j] < 'a' || forms[i][j] > 'z') return false;
        if (i > 0 && strcmp(forms[i - 1], forms[i]) >= 0) return false;
    }
    return true;
}

static int form_cmp(const void *key, const void *elem) {
    return strcmp(key, *(const char *const *)elem);
}

static bool is_form(const char *s) {
    return bsearch(s, forms, LE_ARRAY_SIZE(forms), sizeof(forms[0]), form_cmp) != NULL;
}

/*
 * The word writer. Words are appended character by character; a separator only marks that
 * the next character starts a new word, so runs of separators, leading and trailing ones
 * leave no trace. When a word ends, "und" becomes "and".
 */
typedef struct {
    char *p;
    size_t len;
    size_t word; /* where the current word starts */
    bool sep;    /* the next character starts a new word */
} kb_t;

static inline void kb_end_word(kb_t *k) {
    if (k->len - k->word == 3 && memcmp(k->p + k->word, "und", 3) == 0) k->p[k->word] = 'a';
}

static inline void kb_sep(kb_t *k) {
    if (!k->sep) kb_end_word(k);
    k->sep = true;
}

static inline void kb_put(kb_t *k, const char *s, size_t n) {
    if (k->sep) {
        if (k->len) k->p[k->len++] = ' ';
        k->word = k->len;
        k->sep = false;
    }
    memcpy(k->p + k->len, s, n);
    k->len += n;
}

static inline void kb_uc(kb_t *k, ucs4_t uc) {
    uint8_t b[6];
    int n = u8_uctomb(b, uc, sizeof(b));
    if (n > 0) kb_put(k, (const char *)b, (size_t)n);
}

static inline void kb_and(kb_t *k) {
    kb_sep(k);
    kb_put(k, "and", 3);
    kb_sep(k);
}

/* One ASCII character; true when it is a letter or digit (a base for combining marks). */
static inline bool map_ascii(kb_t *k, unsigned char c) {
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        kb_put(k, (const char *)&c, 1);
        return true;
    }
    if (c == '&')
        kb_and(k);
    else if (c != '\'')
        kb_sep(k);
    return false;
}

/* Latin and Greek: scripts whose diacritics are commonly left out when names are typed. */
static bool strips_marks(ucs4_t uc) {
    return uc < 0x250 || (uc >= 0x370 && uc < 0x400) || (uc >= 0x1E00 && uc < 0x2000) ||
           (uc >= 0x2C60 && uc < 0x2C80) || (uc >= 0xA720 && uc < 0xA800);
}

/* Latin letters (already case-folded) that have no decomposition, written in ASCII. */
static const char *latin_special(ucs4_t uc) {
    switch (uc) {
        case 0xE4:
            return "ae"; /* ä */
        case 0xF6:
            return "oe"; /* ö */
        case 0xFC:
            return "ue"; /* ü */
        case 0xE6:
            return "ae"; /* æ */
        case 0x153:
            return "oe"; /* œ */
        case 0xF8:
            return "o"; /* ø */
        case 0x142:
            return "l"; /* ł */
        case 0x111:
            return "d"; /* đ */
        case 0xF0:
            return "d"; /* ð */
        case 0xFE:
            return "th"; /* þ */
        case 0x127:
            return "h"; /* ħ */
        case 0x131:
            return "i"; /* dotless ı */
        case 0x167:
            return "t"; /* ŧ */
        case 0x138:
            return "k"; /* ĸ */
        case 0x14B:
            return "n"; /* ŋ */
        case 0x180:
            return "b"; /* ƀ */
        case 0x192:
            return "f"; /* ƒ */
        case 0x1E5:
            return "g"; /* ǥ */
        case 0x268:
            return "i"; /* ɨ */
        default:
            return NULL;
    }
}

/* A case-folded Latin or Greek letter, without its diacritics. */
static void map_stripped_letter(kb_t *k, ucs4_t uc) {
    const char *sp = latin_special(uc);
    if (!sp) {
        ucs4_t d[UC_DECOMPOSITION_MAX_LENGTH];
        for (int guard = 0; guard < 8 && uc_canonical_decomposition(uc, d) > 0; guard++) uc = d[0];
        sp = latin_special(uc); /* ǟ -> ä -> "ae" */
    }
    if (sp)
        kb_put(k, sp, strlen(sp));
    else
        kb_uc(k, uc);
}

/* Map valid, case-folded NFKC text. */
static void map_unicode(kb_t *k, const uint8_t *s, size_t n) {
    enum { NONE, STRIPPED, KEPT } prev = NONE; /* what carries a following combining mark */
    const uint8_t *end = s + n;
    while (s < end) {
        ucs4_t uc;
        s += u8_mbtouc_unsafe(&uc, s, end - s);
        if (uc < 0x80) {
            prev = map_ascii(k, (unsigned char)uc) ? STRIPPED : NONE;
        } else if (uc == 0x2019 || uc == 0x2BC || uc == 0xB7) {
            /* ’ ʼ · join like ' */
        } else if (uc_is_general_category(uc, UC_CATEGORY_M)) {
            if (prev == KEPT) kb_uc(k, uc); /* only other scripts keep their marks */
        } else if (uc_is_general_category(uc, UC_CATEGORY_Cf)) {
            /* soft hyphen, zero-width joiners, BOM: nothing */
        } else if (uc_is_general_category(uc, UC_CATEGORY_L)) {
            if (strips_marks(uc)) {
                map_stripped_letter(k, uc);
                prev = STRIPPED;
            } else {
                kb_uc(k, uc);
                prev = KEPT;
            }
        } else if (uc_is_general_category(uc, UC_CATEGORY_N)) {
            int dv = uc_digit_value(uc);
            if (dv >= 0) {
                kb_put(k, &"0123456789"[dv], 1);
                prev = STRIPPED;
            } else {
                kb_uc(k, uc);
                prev = KEPT;
            }
        } else {
            kb_sep(k);
            prev = NONE;
        }
    }
}

/*
 * The Latin fast path: text whose characters are all ASCII or in U+00A0..U+017F (Latin-1
 * and Latin Extended-A: German, French, Nordic, Polish, Czech, Hungarian... names) needs no
 * normalisation, and case folding is the simple lowercase there, so it is mapped directly.
 * The exceptions go the Unicode path: characters with a compatibility decomposition or a
 * case folding that is not one character (ª º ¹ ² ³ ¼ ½ ¾ µ İ Ĳ ĳ Ŀ ŀ ŉ ſ), and invalid
 * UTF-8. ß folds to "ss" as case folding does. The unit test checks both paths agree on
 * every character.
 */
static bool latin_fast_char(ucs4_t uc) {
    if (uc < 0x80) return true;
    if (uc < 0xA0 || uc > 0x17F) return false;
    switch (uc) {
        case 0xAA:
        case 0xB2:
        case 0xB3:
        case 0xB5:
        case 0xB9:
        case 0xBA:
        case 0xBC:
        case 0xBD:
        case 0xBE:
        case 0x130:
        case 0x132:
        case 0x133:
        case 0x13F:
        case 0x140:
        case 0x149:
        case 0x17F:
            return false;
        default:
            return true;
    }
}

static bool latin_fast(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        ucs4_t uc;
        int m = u8_mbtoucr(&uc, s + i, n - i);
        if (m < 0 || !latin_fast_char(uc)) return false;
        i += (size_t)m;
    }
    return true;
}

static void map_latin(kb_t *k, const uint8_t *s, size_t n) {
    const uint8_t *end = s + n;
    while (s < end) {
        ucs4_t uc;
        s += u8_mbtouc_unsafe(&uc, s, end - s);
        if (uc < 0x80)
            map_ascii(k, (unsigned char)uc);
        else if (uc == 0xDF)
            kb_put(k, "ss", 2);
        else if (uc == 0xB7 || uc == 0xAD) /* · joins; soft hyphen is nothing */
            ;
        else if (uc < 0xC0 || uc == 0xD7 || uc == 0xF7) /* symbols, no-break space */
            kb_sep(k);
        else
            map_stripped_letter(k, uc_tolower(uc));
    }
}

/*
 * A valid UTF-8 copy of name: each byte of an invalid sequence becomes a space, and so do
 * ™ and ℠ (NFKC would turn "Acme™" into "acmetm"). The copy is never longer.
 */
static size_t sanitise(const uint8_t *s, size_t n, uint8_t *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        ucs4_t uc;
        int m = u8_mbtoucr(&uc, s + i, n - i);
        if (m < 0) {
            out[o++] = ' ';
            i++;
        } else if (uc == 0x2122 || uc == 0x2120) {
            out[o++] = ' ';
            i += (size_t)m;
        } else {
            memcpy(out + o, s + i, (size_t)m);
            o += (size_t)m;
            i += (size_t)m;
        }
    }
    return o;
}

static inline bool word_is(const char *p, size_t b, size_t e, const char *w, size_t n) {
    return e - b == n && memcmp(p + b, w, n) == 0;
}

/*
 * Drop trailing legal forms from p[beg..*end): longest match first, again and again, and a
 * conjunction left dangling by a removal ("Merck & Co." -> "merck and" -> "merck"). The first
 * word always stays.
 */
static void strip_forms(const char *p, size_t beg, size_t *end) {
    for (;;) {
        size_t e = *end, starts[FORM_MAX_WORDS + 1];
        size_t nw = 0, pos = e;
        while (nw < FORM_MAX_WORDS + 1 && pos > beg) {
            while (pos > beg && p[pos - 1] != ' ') pos--;
            starts[nw++] = pos;
            if (pos > beg) pos--; /* the space */
        }
        /* starts[i] is where the last i+1 words begin; keep at least one word. */
        if (nw == 0) return;
        size_t kmax = pos > beg ? nw : nw - 1;
        if (kmax > FORM_MAX_WORDS) kmax = FORM_MAX_WORDS;
        size_t cut = 0;
        for (size_t k = kmax; k >= 1 && !cut; k--) {
            char sq[FORM_MAX_LEN];
            size_t q = 0, i;
            for (i = starts[k - 1]; i < e && q < FORM_MAX_LEN - 1; i++)
                if (p[i] != ' ') sq[q++] = p[i];
            if (i < e) continue; /* too long to be a form */
            sq[q] = '\0';
            if (is_form(sq)) cut = starts[k - 1];
        }
        if (!cut) return;
        e = cut - 1; /* before the space */
        /* A conjunction left at the end, unless it is the only word. */
        size_t w = e;
        while (w > beg && p[w - 1] != ' ') w--;
        if (w > beg && word_is(p, w, e, "and", 3)) e = w - 1;
        *end = e;
    }
}

static size_t finish(const char *p, size_t len, char *out, size_t cap) {
    size_t beg = 0, end = len;
    if (len > 4 && memcmp(p, "the ", 4) == 0) beg = 4;
    strip_forms(p, beg, &end);
    size_t n = end - beg;
    if (cap == 0) return n;
    size_t w = n;
    if (w >= cap) {
        w = cap - 1;
        while (w > 0 && ((unsigned char)p[beg + w] & 0xC0) == 0x80) w--; /* character boundary */
        while (w > 0 && p[beg + w - 1] == ' ') w--;
    }
    memcpy(out, p + beg, w);
    out[w] = '\0';
    return n;
}

static bool is_ascii(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return false;
    return true;
}

size_t le_company_key(const char *name, size_t len, char *out, size_t cap) {
    char stack_key[STACK_KEY];
    uint8_t stack_clean[STACK_NAME], stack_fold[STACK_NAME];
    uint8_t *clean = NULL, *folded = NULL;
    kb_t k = {stack_key, 0, 0, true};
    size_t rc;

    if (is_ascii(name, len)) {
        if (KEY_BOUND(len) > sizeof(stack_key)) k.p = le_xmalloc(KEY_BOUND(len));
        for (size_t i = 0; i < len; i++) map_ascii(&k, (unsigned char)name[i]);
    } else if (latin_fast((const uint8_t *)name, len)) {
        if (KEY_BOUND(len) > sizeof(stack_key)) k.p = le_xmalloc(KEY_BOUND(len));
        map_latin(&k, (const uint8_t *)name, len);
    } else {
        clean = len <= sizeof(stack_clean) ? stack_clean : le_xmalloc(len);
        size_t clen = sanitise((const uint8_t *)name, len, clean);
        size_t flen = sizeof(stack_fold);
        folded = u8_casefold(clean, clen, NULL, UNINORM_NFKC, stack_fold, &flen);
        if (!folded) abort(); /* only ENOMEM: the text is valid UTF-8 by now */
        if (KEY_BOUND(flen) > sizeof(stack_key)) k.p = le_xmalloc(KEY_BOUND(flen));
        map_unicode(&k, folded, flen);
    }
    kb_sep(&k);
    rc = finish(k.p, k.len, out, cap);

    if (k.p != stack_key) free(k.p);
    if (folded != stack_fold) free(folded);
    if (clean != stack_clean) free(clean);
    return rc;
}
