/*
 * contact.h: data quality of a contact: e-mail address, e-mail domain kind, phone number,
 * postal code, and the buying-centre role a job title suggests.
 *
 * Form posts bring whatever people type: " Max.Muster@Example.DE ", "+49 (0)30 / 123 45-6",
 * "sw1a1aa", "Leiter/in Einkauf". The fit score wants to know whether the address is
 * well-formed and whose it is (a business, a freemail provider, a throw-away inbox), whether
 * the phone number and postal code are plausible for the country, and which part of the
 * buying centre the person plays. These functions answer that, and give each value one
 * normal spelling so that equal values compare equal. docs/identity.md has the rules with
 * examples for users.
 *
 * Pure: no logging, no I/O except le_domains_load_file(), no global state; every function is
 * thread-safe (a domain set may be read from many threads at once once it is loaded). Any
 * bytes are accepted as input: lengths are bounded, invalid UTF-8 is simply invalid (or, for
 * job titles, a word separator), nothing reads past len or writes past cap.
 *
 * Errors: 0 is success; LE_EINVAL means the input is not a valid value; LE_ETOOBIG means the
 * caller's output buffer is too small (never with a buffer of the LE_*_SIZE below).
 */
#ifndef LE_CONTACT_H
#define LE_CONTACT_H

#include "buf.h"
#include "le.h"

/* ---- E-mail ------------------------------------------------------------------------------ */

/* s without surrounding white space: ASCII white space and the invisible no-break space,
 * zero-width space and byte-order mark that copy and paste bring along (U+00A0, U+200B,
 * U+FEFF). A NULL s gives an empty string. */
le_str_t le_text_trim(le_str_t s);

/* Longest address accepted (RFC 5321 path limit less the angle brackets), and its buffer. */
#define LE_EMAIL_MAX 254
#define LE_EMAIL_SIZE (LE_EMAIL_MAX + 1)

/*
 * Normalise and check the e-mail address s[0..n). Surrounding whitespace is trimmed (ASCII
 * space, tab, CR, LF, VT, FF, and the UTF-8 no-break space, zero-width space and BOM); the
 * domain is lower-cased; the local part keeps its case as typed (only the receiving server
 * may interpret it). The syntax is the dot-atom form of RFC 5322 that real addresses use:
 *
 *   - exactly one '@';
 *   - local part 1..64 bytes of letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~,
 *     and dots that neither lead, trail nor double;
 *   - domain 1..253 bytes of at least two labels separated by single dots; each label 1..63
 *     letters, digits and hyphens, not starting or ending with a hyphen; the last label (the
 *     top-level domain) at least two bytes and starting with a letter; no trailing dot;
 *   - at most LE_EMAIL_MAX bytes in all.
 *
 * So quoted local parts, comments, IP literals ("[192.0.2.1]"), spaces, control bytes, any
 * byte >= 0x80 (internationalised addresses must arrive in punycode, "xn--") and invalid
 * UTF-8 are rejected. On success the address is written to out with a NUL (out needs
 * length + 1 bytes; LE_EMAIL_SIZE is always enough), *outlen (when not NULL) gets its length,
 * and 0 is returned. Otherwise out is "" (when cap > 0), *outlen is 0, and the result is
 * LE_EINVAL, or LE_ETOOBIG for a valid address that does not fit in cap.
 */
int le_email_normalize(const char *s, size_t n, char *out, size_t cap, size_t *outlen);

/*
 * The domain of a normalised address: the bytes after its last '@', borrowed from the
 * argument. {NULL, 0} when there is no '@'.
 */
le_str_t le_email_domain(le_str_t normalized);

/* ---- Domain sets and domain kinds -------------------------------------------------------- */

/*
 * A set of domains (the freemail providers, the disposable-mail services). Built by
 * le_domains_new() and the load/add functions, then read by le_domains_has(); any number of
 * threads may read a set at once, but loading needs the set to itself. Immutable after load
 * by convention: to reload, build a new set and swap the pointer.
 */
typedef struct le_domains le_domains_t;

/* An empty set. Never NULL (allocation failure aborts). */
le_domains_t *le_domains_new(void);

/* Free the set and everything in it; NULL is ignored. */
void le_domains_free(le_domains_t *d);

/*
 * Add one domain: case-insensitive, one trailing dot tolerated, otherwise the domain syntax
 * of le_email_normalize() (at least two labels: a whole top-level domain cannot be listed).
 * Adding a domain twice is harmless. Returns 0 or LE_EINVAL (the set is unchanged).
 */
int le_domains_add(le_domains_t *d, le_str_t domain);

/*
 * Add the domains of a list text: one domain per line; blank lines and lines starting with
 * '#' are ignored, so is a comment after the domain (whitespace, then '#'); whitespace around
 * the domain and a CR before the LF are ignored. Every bad line is reported to errors (when
 * not NULL) as one "name:line: message\n" line; after LE_DOMAINS_MAX_ERRORS of them a last
 * line "name: N more bad lines\n" sums up the rest. The good lines are added either way.
 * Returns 0 when every line was good, LE_EINVAL otherwise; the caller decides whether a bad
 * line is fatal (the config loader refuses to start).
 */
#define LE_DOMAINS_MAX_ERRORS 20
int le_domains_load(le_domains_t *d, const char *name, le_str_t text, le_buf_t *errors);

/*
 * Read the list file at path (at most LE_DOMAINS_FILE_MAX bytes) and add it as
 * le_domains_load() does, with path as the name in messages. Returns 0, LE_EINVAL (bad
 * lines, reported), -errno when the file cannot be read, or LE_ETOOBIG when it is too large;
 * the last two add one "path: message\n" line to errors.
 */
#define LE_DOMAINS_FILE_MAX (64u << 20)
int le_domains_load_file(le_domains_t *d, const char *path, le_buf_t *errors);

/* How many distinct domains the set holds. */
size_t le_domains_count(const le_domains_t *d);

/*
 * Is domain, or one of its parent domains, in the set? "mail.gmx.de" is in a set holding
 * "gmx.de"; "gmx.de" is not in a set holding only "mail.gmx.de". Case-insensitive, one
 * trailing dot tolerated; a NULL set, an empty or over-long domain is never in. O(labels).
 */
bool le_domains_has(const le_domains_t *d, le_str_t domain);

typedef enum {
    LE_DOMAIN_BUSINESS = 0, /* in neither list: presumably the contact's employer */
    LE_DOMAIN_FREEMAIL,     /* a free or consumer mailbox provider */
    LE_DOMAIN_DISPOSABLE,   /* a throw-away inbox service */
} le_domain_kind_t;

/*
 * The kind of an e-mail domain: DISPOSABLE when the disposable set has it (that wins over
 * freemail), else FREEMAIL when the freemail set has it, else BUSINESS. Either set may be
 * NULL (no list). The domain is not syntax-checked here: check the address first.
 */
le_domain_kind_t le_domain_classify(const le_domains_t *freemail, const le_domains_t *disposable,
                                    le_str_t domain);

/* "business", "freemail", "disposable"; "?" for a value out of range. Static strings. */
const char *le_domain_kind_name(le_domain_kind_t k);

/* The kind named s[0..n) (ASCII case-insensitive), or -1 when no kind has that name. */
int le_domain_kind_parse(const char *s, size_t n);

/* ---- Phone numbers ----------------------------------------------------------------------- */

/* An E.164 number is '+' and at most 15 digits; the buffer that always fits one. */
#define LE_PHONE_SIZE 17

/*
 * Normalise the phone number in to E.164 ("+4930123456"). country_iso2 ("DE", case-
 * insensitive, "UK" = "GB"; may be NULL) is the country a national number belongs to.
 *
 * Accepted spelling: digits with spaces, tabs, no-break spaces, dots, dashes, slashes and
 * parentheses (balanced, not nested, not empty) between them, at most 64 bytes. Anything
 * else (letters, so also extensions and "Tel:", a second '+') makes the input invalid.
 *
 *   - International: a leading '+', or the prefix "00" (and "011" when the country is in
 *     the North American plan), then the country code. The German convention "(0)" after
 *     the country code ("+49 (0)30 1234") is dropped, and so is a trunk 0 written right
 *     after the country code of a country below ("+49 030 1234").
 *   - National: the country must be one of the table below; its trunk prefix (0, or 1 in
 *     the North American plan, where it is optional) is replaced by the country code.
 *
 * Rules by country code (NSN: the national significant number, the digits after it):
 *
 *   code  countries  NSN digits  NSN starts with   national form
 *   49    DE         5..13       1-9               0 + NSN
 *   43    AT         4..13       1-9               0 + NSN
 *   41    CH         9           2-9               0 + NSN
 *   44    GB, UK     10 (a)      1,2,3,5,7,8,9     0 + NSN
 *   33    FR         9           1-9               0 + NSN
 *   1     US, CA     10          2-9 (NANP)        NSN or 1 + NSN
 *
 * (a) Or 9 after "800" or "16977" (old freephone and Brampton numbers).
 *
 * In the North American plan the area code and the exchange (NSN digits 1-3 and 4-6) start
 * with 2-9 and are not N11 service codes (211 ... 911). Other country codes are accepted
 * with an international prefix when they do not start with 0 and code and NSN together are
 * 8..15 digits; the code itself is not checked against the ITU list.
 *
 * On success out gets the number and a NUL, *outlen (when not NULL) its length, and the
 * result is 0. Otherwise out is "" (when cap > 0), *outlen 0, and the result LE_EINVAL, or
 * LE_ETOOBIG when a valid number does not fit in cap (LE_PHONE_SIZE always fits).
 */
int le_phone_e164(le_str_t in, const char *country_iso2, char *out, size_t cap, size_t *outlen);

/* ---- Postal codes ------------------------------------------------------------------------ */

/* Returned by le_postal_check() for a country whose postal codes are not validated. */
#define LE_POSTAL_UNCHECKED 1
/* The longest normalised postal code, and the buffer that always fits one. */
#define LE_POSTAL_MAX 16
#define LE_POSTAL_SIZE (LE_POSTAL_MAX + 1)

/*
 * Normalise and check the postal code in for the country country_iso2 (case-insensitive,
 * "UK" = "GB"; may be NULL). Surrounding whitespace is trimmed first. For DE, AT, CH, LI and FR
 * a leading country prefix as used in old European addresses ("D-", "DE-", "A-", "AT-",
 * "CH-", "FL-", "F-", "FR-") is dropped.
 *
 *   DE  5 digits, 01001..99998                       "10115"
 *   AT  4 digits, 1010..9992                         "1010"
 *   CH  4 digits, 1000..9658                         "8001"
 *   LI  4 digits, 9485..9498 (Swiss system)          "9490"
 *   FR  5 digits, department 01..95, 97 or 98        "75001", "97400", "98000"
 *   US  ZIP "12345" or ZIP+4; "12345 6789" and "123456789" become "12345-6789"; not 00000
 *   GB  the UK postcode pattern, any case and spacing, written upper case with one space
 *       before the inward code: "sw1a1aa" -> "SW1A 1AA"; also "GIR 0AA"
 *
 * Returns 0 when valid (out has the normal form), LE_EINVAL when invalid for a listed
 * country, and LE_POSTAL_UNCHECKED for any other country (or NULL) when the input is
 * plausible: 1..LE_POSTAL_MAX bytes of ASCII letters, digits, spaces and hyphens with a
 * letter or digit, which out then holds upper-cased with whitespace runs made one space;
 * implausible input for such a country is LE_EINVAL. out and *outlen (when not NULL) are as
 * for le_phone_e164(); LE_ETOOBIG when the result does not fit in cap.
 */
int le_postal_check(le_str_t in, const char *country_iso2, char *out, size_t cap, size_t *outlen);

/* ---- Buying-centre role from a job title ------------------------------------------------- */

typedef enum {
    LE_ROLE_UNKNOWN = 0,
    LE_ROLE_DECIDER,    /* has the authority to decide: owners, executives, department heads */
    LE_ROLE_BUYER,      /* runs the purchase: procurement, purchasing, Einkauf */
    LE_ROLE_INFLUENCER, /* shapes the choice: managers, leads, consultants, architects */
    LE_ROLE_USER,       /* works with the product: developers, engineers, clerks */
    LE_ROLE_GATEKEEPER, /* controls access: assistants, secretariat, reception */
} le_role_t;

/*
 * The buying-centre role a job title suggests, German or English. The title (the first
 * LE_TITLE_MAX bytes are looked at) is folded: case, diacritics (ä ö ü -> ae oe ue, ß -> ss,
 * é -> e, also when written decomposed), and gender forms ("Leiter/in", "Leiter:in",
 * "Leiter*in", "Leiter_in", "Leiter(in)", "LeiterIn", "Leiterin" all read "Leiter"); then it
 * is split into words at anything that is not a letter or digit (so "IT-Leiter" is "it
 * leiter"; invalid UTF-8 separates words). The first rule of an ordered table that matches
 * decides. A rule is a sequence of consecutive words; a rule word matches exactly, as the end
 * of a German compound ("*leiter": "Vertriebsleiter"), as its start ("einkauf*":
 * "Einkaufsleiter") or inside it, always also with a feminine "-in"/"-innen". In order:
 *
 *   1. exceptions to the rules below: "Assistant Vice President", "Assistant Director",
 *      "Assistant Manager", "Assistant Professor", "AVP", "Product Owner", "Chief of Staff",
 *      "Chief Architect", "Chief Engineer", "Art Director", works council (Betriebsrat)
 *      -> influencer; "Technische Assistentin" (a technician), "Head Hunter" -> user;
 *      "Generalsekretär", "General Secretary" -> decider
 *   2. gatekeeper: Assistent/in, Assistenz (of anyone: "Assistenz der Geschäftsführung",
 *      "Executive Assistant", "Assistant to the CEO"), Sekretär/in, Sekretariat, Secretary,
 *      Office Manager, Büroleitung, Büromanager, Empfang, Rezeption, Reception(ist),
 *      Front Desk, Telefonist/in, Telefonzentrale, Vorzimmer
 *   3. buyer: Einkauf..., ...einkauf, Einkäufer, Beschaffung, Procurement, Purchasing,
 *      Purchaser, Buyer, Sourcing, Lieferantenmanagement. The head of purchasing is a buyer
 *      too ("Head of Procurement", "Einkaufsleiter", "Chief Procurement Officer").
 *   4. influencer, before the deciders: Referent/in (also "Referent der Geschäftsführung"),
 *      Team-, Projekt-, Gruppen-, Schicht-, Bauleiter/-leitung
 *   5. decider: CEO CTO CFO COO CIO CMO CSO CDO CPO CRO CISO CCO CHRO CXO, Chief ...,
 *      GF, Geschäftsführer/in, Geschäftsführung, Vorstand, Vorstandsvorsitzende/r,
 *      Vorsitzende/r, Aufsichtsrat, Präsident, President, Vice President, VP, SVP, EVP,
 *      Chairman, Chair, Board, Managing Director, Executive Director, General Manager,
 *      Country Manager, Managing Partner, Director, Direktor, Head (of ...), ...leiter,
 *      Leiter, ...leitung, Inhaber, Owner, Proprietor, Founder, Gründer, Gesellschafter,
 *      Prokurist, Unternehmer, Entrepreneur, Selbständig, Freelancer, Freiberufler
 *   6. influencer: Manager, ...manager, Lead, ...lead, Leader, Principal, Architect,
 *      Architekt, Consultant, Berater, Analyst, Advisor, Strategist, Controller,
 *      Coordinator, Koordinator, ...beauftragte/r, Officer, Scrum Master, Expert, Experte
 *   7. user: Developer, Entwickler, Programmer, Programmierer, Engineer, Ingenieur,
 *      Technician, Techniker, Administrator, Admin, Sachbearbeiter/-bearbeitung, Mitarbeiter,
 *      Angestellte/r, Employee, Clerk, Accountant, Buchhalter, Bookkeeper, Designer,
 *      Operator, Support, Specialist, Spezialist, Fachkraft, Kaufmann/Kauffrau, Disponent,
 *      Scientist, Researcher, Wissenschaftler, Tester, Redakteur, Editor, Verkäufer,
 *      Associate, Representative, Agent, Account Executive, Monteur, Fachinformatiker,
 *      Student, Werkstudent, Intern, Praktikant, Doktorand, Trainee, Azubi, Auszubildende/r
 *
 * So a department head ("Head of IT", "IT-Leiter", "Director Marketing") is a decider for
 * the department's purchases, while a manager, team or project lead is an influencer.
 * Titles no rule matches (empty, "Dr.", other scripts) are LE_ROLE_UNKNOWN.
 */
#define LE_TITLE_MAX 256
le_role_t le_role_from_title(le_str_t title);

/* "unknown", "decider", "buyer", "influencer", "user", "gatekeeper"; "?" out of range. */
const char *le_role_name(le_role_t role);

/* The role named s[0..n) (ASCII case-insensitive), or -1 when no role has that name. */
int le_role_parse(const char *s, size_t n);

/* For the unit test: are the role rules well-formed (lower-case ASCII words, '*' only at
 * the ends, known roles)? */
bool le__role_rules_ok(void);

#endif
