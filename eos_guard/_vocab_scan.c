/* The compiled half of eos_guard/vocab_scan.py: the size of a BPE tokenizer.json's model.vocab and the values of a
 * few keys, read from the vocab's bytes without making a Python object per key.
 *
 * scan(data, start, end, wanted, seed) -> (size, values) | None
 *
 *   data[start:end] is the vocab object, from its "{" to its "}"; wanted is a tuple of the UTF-8 bytes of the keys
 *   asked about; seed (an int below 2**64) keys the hash. values[i] is the int written for wanted[i], or None.
 *
 * It answers only for the plain shape every tokenizers-written vocab has: string keys, each once, and values that
 * are integers from 0 to 10**18 - 1 written without sign, fraction or exponent. For those its answer is what
 * json.loads of the slice gives: len() of the dict and the value of each wanted key. For anything else - bytes that
 * are not strict UTF-8, a control character in a string, a lone surrogate escape, any other value, a key written
 * twice (or two keys whose hashes meet in the table: see KeySet), a hash probe longer than MAX_PROBE, more members than
 * MAX_MEMBERS - it says None without a reason, and the caller reads the vocab the Python way, which is exact for
 * every input and the one that reports an error. So this file decides no verdict of its own; it only spares the
 * Python objects of the common case. tests/test_vocab_scan_compiled.py holds it to json.loads on generated and
 * mutated vocabularies.
 *
 * Safety: every read is checked against the end of the slice before it is made; the only memory written is the
 * key table with its array of hashes, the index of the wanted keys and a scratch buffer for keys with escapes, all
 * allocated here and freed before returning. The loop runs without the interpreter lock (it touches no Python
 * object), so the hash thread of a cold check runs beside it when a core is free.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROBE 128              /* slots a key may be looked for in; beyond, the hashes are not random enough */
#define MAX_MEMBERS (1 << 24)      /* 16.7M keys (the largest vocabularies have ~1M): beyond, let Python decide;
                                    * at most 256 MB of table and hashes */
#define MAX_DIGITS 18              /* values below 10**18 fit an int64 */

/* The keys seen so far, by hash. A slot holds the high 32 bits of a hash whose low bits give its place; the
 * full hashes are kept in order beside it, to move them to a bigger table. Keeping 4 bytes a slot halves the
 * memory the scan touches at random. Two keys whose hashes agree in the 32 bits and
 * meet within one probe (rare: the 32 bits must match in the few slots a probe looks at) make the scan unsure,
 * never wrong. */
typedef struct {
    uint32_t *slots;               /* 0 = empty (a fingerprint is never 0) */
    size_t mask;                   /* capacity - 1, capacity a power of two */
    uint64_t *hashes;              /* every key's hash, in order: their count is the vocab's size */
    size_t count, room;
} KeySet;

/* The wanted keys' indexes + 1, by hash (0 = empty); small, never grown. */
typedef struct {
    uint64_t *slots;
    size_t mask;
} Index;

typedef struct {
    const unsigned char *key;      /* the wanted key's UTF-8 bytes (inside a bytes object of the caller's tuple) */
    Py_ssize_t length;
    uint64_t hash;
    int found;
    long long value;
} Wanted;

typedef enum { OK = 0, UNSURE = 1, NO_MEMORY = 2 } Outcome;

static inline uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)0)
#endif

#define MULTIPLIER 0x9e3779b97f4a7c15ULL
#define PREMIXED 64

/* A keyed 64-bit hash of a key's UTF-8 bytes; equal bytes give equal hashes within one call, and 0 never comes
 * out (the table's empty slot). ``start`` is mix(seed ^ n), worked out once per length (Hasher). */
static inline uint64_t key_hash_from(uint64_t h, const unsigned char *s, size_t n)
{
    while (n >= 8) {
        uint64_t k;
        memcpy(&k, s, 8);
        h = (h ^ k) * MULTIPLIER;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t k = 0;
        memcpy(&k, s, n);
        h = (h ^ k ^ ((uint64_t)n << 56)) * MULTIPLIER;
        h ^= h >> 29;
    }
    h = mix(h);
    return h ? h : 1;
}

typedef struct {
    uint64_t seed;
    uint64_t start[PREMIXED];  /* mix(seed ^ n) for the short lengths */
} Hasher;

static void hasher_init(Hasher *hasher, uint64_t seed)
{
    hasher->seed = seed;
    for (size_t n = 0; n < PREMIXED; n++)
        hasher->start[n] = mix(seed ^ (uint64_t)n);
}

static inline uint64_t key_hash(const Hasher *hasher, const unsigned char *s, size_t n)
{
    return key_hash_from(n < PREMIXED ? hasher->start[n] : mix(hasher->seed ^ (uint64_t)n), s, n);
}

/* A zeroed table of slots whose memory pages are each touched once, in order, before it is used. Its keys land at
 * random places: left to them, a fresh page is first touched at random, and on the 2-core machine of
 * docs/performance.md those faults, while the hash thread of a cold check ran on the other core, made the scan of
 * a 128k-key vocabulary take 17 ms instead of 9.5 (touched in order first: 9.2). The stores are volatile, since
 * a compiler may drop a store of zero into memory calloc zeroed. */
static uint32_t *zeroed_slots(size_t capacity)
{
    uint32_t *slots = calloc(capacity, sizeof(uint32_t));
    if (slots != NULL)
        for (size_t i = 0; i < capacity; i += 4096 / sizeof(uint32_t))
            ((volatile uint32_t *)slots)[i] = 0;
    return slots;
}

static int keyset_init(KeySet *k, size_t capacity)
{
    k->slots = zeroed_slots(capacity);
    k->mask = capacity - 1;
    k->room = capacity / 2;
    k->hashes = malloc(k->room * sizeof(uint64_t));
    k->count = 0;
    return k->slots != NULL && k->hashes != NULL;
}

static void keyset_free(KeySet *k)
{
    free(k->slots);
    free(k->hashes);
}

/* Puts a hash in the slots; UNSURE when its fingerprint is met on the way or the probe is too long. */
static inline Outcome keyset_place(uint32_t *slots, size_t mask, uint64_t h)
{
    uint32_t fingerprint = (uint32_t)(h >> 32);
    if (fingerprint == 0)
        fingerprint = 1;
    size_t i = (size_t)h & mask;
    for (int probe = 0; probe < MAX_PROBE; probe++) {
        uint32_t slot = slots[i];
        if (slot == 0) {
            slots[i] = fingerprint;
            return OK;
        }
        if (slot == fingerprint)
            return UNSURE;
        i = (i + 1) & mask;
    }
    return UNSURE;
}

/* Adds a key's hash; the slots stay at most half full (the hashes array holds as many as half the slots). */
static Outcome keyset_add(KeySet *k, uint64_t h)
{
    if (k->count == k->room) {
        if (k->count >= MAX_MEMBERS)
            return UNSURE;
        size_t capacity = (k->mask + 1) * 2;
        uint32_t *slots = zeroed_slots(capacity);
        uint64_t *hashes = realloc(k->hashes, capacity / 2 * sizeof(uint64_t));
        if (hashes != NULL)
            k->hashes = hashes;
        if (slots == NULL || hashes == NULL) {
            free(slots);
            return NO_MEMORY;
        }
        for (size_t i = 0; i < k->count; i++)
            if (keyset_place(slots, capacity - 1, k->hashes[i]) != OK) {
                free(slots);
                return UNSURE;
            }
        free(k->slots);
        k->slots = slots;
        k->mask = capacity - 1;
        k->room = capacity / 2;
    }
    Outcome outcome = keyset_place(k->slots, k->mask, h);
    if (outcome == OK)
        k->hashes[k->count++] = h;
    return outcome;
}

/* JSON's whitespace, the only bytes allowed between a member's parts. */
enum { SPACE = 1 };
static unsigned char byte_class[256];

static void fill_byte_class(void)
{
    byte_class[' '] = byte_class['\n'] = byte_class['\r'] = byte_class['\t'] = SPACE;
}

static inline int is_space(unsigned char c)
{
    return byte_class[c] & SPACE;
}

static inline const unsigned char *skip_space(const unsigned char *p, const unsigned char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p;
}

/* The length of the strict UTF-8 sequence at p (as Python's "utf-8" codec accepts it: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
static inline size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF)  /* the common case of a byte-level vocab: U+0080-U+07FF (Ġ is C4 A0) */
        return end - p >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    size_t n;
    unsigned char low = 0x80, high = 0xBF;  /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            low = 0xA0;
        else if (c == 0xED)
            high = 0x9F;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            low = 0x90;
        else if (c == 0xF4)
            high = 0x8F;
    }
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    if (p[1] < low || p[1] > high)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

static int hex4(const unsigned char *p, const unsigned char *end, unsigned int *out)
{
    if (end - p < 4)
        return 0;
    unsigned int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(unsigned char *out, unsigned int cp)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reading a string's bytes up to its closing quote, its first backslash, or a byte that is not allowed there (a
 * control character, or bytes that are not strict UTF-8), as one table step a byte: byte_type sorts bytes into
 * the kinds below, utf8_step[state + type] gives the next state. States up to U_LAST_MIDDLE mean "go on"
 * (U_ACCEPT: between characters; the others: inside a multi-byte character, with what the next byte may be). */
enum {  /* byte types */
    T_ASCII, T_QUOTE, T_BACKSLASH, T_CONTROL, T_C80_8F, T_C90_9F, T_CA0_BF, T_BAD, T_LEAD2, T_E0, T_E1_EC_EE_EF,
    T_ED, T_F0, T_F1_F3, T_F4, T_COUNT
};
enum {  /* states, as offsets into utf8_step */
    U_ACCEPT = 0,
    U_CONT1 = 1 * T_COUNT,       /* one continuation byte left (80-BF) */
    U_CONT2 = 2 * T_COUNT,       /* two left */
    U_CONT3 = 3 * T_COUNT,       /* three left */
    U_E0 = 4 * T_COUNT,          /* after E0: A0-BF, then one */
    U_ED = 5 * T_COUNT,          /* after ED: 80-9F (no surrogates), then one */
    U_F0 = 6 * T_COUNT,          /* after F0: 90-BF, then two */
    U_F4 = 7 * T_COUNT,          /* after F4: 80-8F, then two */
    U_LAST_MIDDLE = U_F4,
    U_QUOTE = 8 * T_COUNT,
    U_BACKSLASH = 9 * T_COUNT,
    U_REJECT = 10 * T_COUNT,
    U_STATES = 11
};
static unsigned char byte_type[256];
static unsigned short utf8_step[U_STATES * T_COUNT];

static void fill_utf8_tables(void)
{
    for (int c = 0; c < 256; c++) {
        unsigned char t;
        if (c < 0x20) t = T_CONTROL;
        else if (c == '"') t = T_QUOTE;
        else if (c == '\\') t = T_BACKSLASH;
        else if (c < 0x80) t = T_ASCII;
        else if (c < 0x90) t = T_C80_8F;
        else if (c < 0xA0) t = T_C90_9F;
        else if (c < 0xC0) t = T_CA0_BF;
        else if (c < 0xC2) t = T_BAD;
        else if (c < 0xE0) t = T_LEAD2;
        else if (c == 0xE0) t = T_E0;
        else if (c == 0xED) t = T_ED;
        else if (c < 0xF0) t = T_E1_EC_EE_EF;
        else if (c == 0xF0) t = T_F0;
        else if (c < 0xF4) t = T_F1_F3;
        else if (c == 0xF4) t = T_F4;
        else t = T_BAD;
        byte_type[c] = t;
    }
    for (int i = 0; i < U_STATES * T_COUNT; i++)
        utf8_step[i] = U_REJECT;
    utf8_step[U_ACCEPT + T_ASCII] = U_ACCEPT;
    utf8_step[U_ACCEPT + T_QUOTE] = U_QUOTE;
    utf8_step[U_ACCEPT + T_BACKSLASH] = U_BACKSLASH;
    utf8_step[U_ACCEPT + T_LEAD2] = U_CONT1;
    utf8_step[U_ACCEPT + T_E0] = U_E0;
    utf8_step[U_ACCEPT + T_E1_EC_EE_EF] = U_CONT2;
    utf8_step[U_ACCEPT + T_ED] = U_ED;
    utf8_step[U_ACCEPT + T_F0] = U_F0;
    utf8_step[U_ACCEPT + T_F1_F3] = U_CONT3;
    utf8_step[U_ACCEPT + T_F4] = U_F4;
    for (int t = T_C80_8F; t <= T_CA0_BF; t++) {
        utf8_step[U_CONT1 + t] = U_ACCEPT;
        utf8_step[U_CONT2 + t] = U_CONT1;
        utf8_step[U_CONT3 + t] = U_CONT2;
    }
    utf8_step[U_E0 + T_CA0_BF] = U_CONT1;
    utf8_step[U_ED + T_C80_8F] = utf8_step[U_ED + T_C90_9F] = U_CONT1;
    utf8_step[U_F0 + T_C90_9F] = utf8_step[U_F0 + T_CA0_BF] = U_CONT2;
    utf8_step[U_F4 + T_C80_8F] = U_CONT2;
}

typedef struct {
    unsigned char *bytes;
    size_t capacity;
} Scratch;

/* Reads the string whose opening quote is at *pp. On OK, *key and *length are its decoded UTF-8 bytes (the slice
 * itself when it has no escape, else the scratch buffer) and *pp is past its closing quote. */
static Outcome read_string(const unsigned char **pp, const unsigned char *end, Scratch *scratch,
                           const unsigned char **key, size_t *length)
{
    const unsigned char *p = *pp + 1;
    const unsigned char *start = p;
    /* the common case: no escape, the bytes are the key; one table step a byte (utf8_step) */
    unsigned int state = U_ACCEPT;
    while (p < end) {
        state = utf8_step[state + byte_type[*p]];
        if (state > U_LAST_MIDDLE)
            break;
        p++;
    }
    if (p < end && state == U_QUOTE) {
        *key = start;
        *length = (size_t)(p - start);
        *pp = p + 1;
        return OK;
    }
    if (p >= end || state != U_BACKSLASH)
        return UNSURE;
    /* An escape: decode into the scratch buffer, which the raw length bounds (no escape writes more bytes than
     * it takes: \uXXXX is 6 bytes for at most 3, a pair 12 for 4). */
    const unsigned char *close = p;
    while (close < end && *close != '"') {
        if (*close == '\\') {
            if (end - close < 2)
                return UNSURE;
            close += 2;
        }
        else
            close++;
    }
    if (close >= end)
        return UNSURE;
    size_t need = (size_t)(close - start);
    if (need > scratch->capacity) {
        unsigned char *grown = realloc(scratch->bytes, need);
        if (grown == NULL)
            return NO_MEMORY;
        scratch->bytes = grown;
        scratch->capacity = need;
    }
    size_t out = (size_t)(p - start);
    memcpy(scratch->bytes, start, out);
    while (p < close) {
        unsigned char c = *p;
        if (c == '\\') {
            if (close - p < 2)
                return UNSURE;
            unsigned char e = p[1];
            p += 2;
            switch (e) {
            case '"': scratch->bytes[out++] = '"'; break;
            case '\\': scratch->bytes[out++] = '\\'; break;
            case '/': scratch->bytes[out++] = '/'; break;
            case 'b': scratch->bytes[out++] = '\b'; break;
            case 'f': scratch->bytes[out++] = '\f'; break;
            case 'n': scratch->bytes[out++] = '\n'; break;
            case 'r': scratch->bytes[out++] = '\r'; break;
            case 't': scratch->bytes[out++] = '\t'; break;
            case 'u': {
                unsigned int cp;
                if (!hex4(p, close, &cp))
                    return UNSURE;
                p += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return UNSURE;  /* a lone low surrogate */
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned int low;
                    if (close - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, close, &low)
                        || low < 0xDC00 || low > 0xDFFF)
                        return UNSURE;  /* a lone high surrogate */
                    p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                }
                out += put_utf8(scratch->bytes + out, cp);
                break;
            }
            default:
                return UNSURE;
            }
        }
        else if (c < 0x20)
            return UNSURE;
        else if (c < 0x80) {
            scratch->bytes[out++] = c;
            p++;
        }
        else {
            size_t n = utf8_sequence(p, close);
            if (n == 0)
                return UNSURE;
            memcpy(scratch->bytes + out, p, n);
            out += n;
            p += n;
        }
    }
    *key = scratch->bytes;
    *length = out;
    *pp = close + 1;
    return OK;
}

/* Reads an integer from 0 to 10**18 - 1 at *pp. */
static Outcome read_value(const unsigned char **pp, const unsigned char *end, long long *value)
{
    const unsigned char *p = *pp;
    if (p >= end || *p < '0' || *p > '9')
        return UNSURE;
    long long v = 0;
    int digits = 0;
    if (*p == '0')
        p++, digits = 1;
    else
        while (p < end && *p >= '0' && *p <= '9') {
            if (++digits > MAX_DIGITS)
                return UNSURE;
            v = v * 10 + (*p - '0');
            p++;
        }
    /* what may follow a number here is space, "," or "}"; "01", "1.5", "1e3" are left to Python */
    if (p < end && !(is_space(*p) || *p == ',' || *p == '}'))
        return UNSURE;
    *value = v;
    *pp = p;
    return OK;
}

static Outcome scan_object(const unsigned char *p, const unsigned char *end, Wanted *wanted, const Index *wanted_table,
                           const Hasher *hasher, Py_ssize_t *size)
{
    KeySet keys;
    Scratch scratch = {NULL, 0};
    Outcome outcome = UNSURE;
    /* sized for a member per 32 bytes at half load (a tokenizers-written vocab has one per 20-40): most real
     * files need no growing */
    size_t capacity = 1 << 10;
    while (capacity < (size_t)(end - p) / 16 && capacity < 2 * (size_t)MAX_MEMBERS)
        capacity *= 2;
    if (!keyset_init(&keys, capacity)) {
        keyset_free(&keys);
        return NO_MEMORY;
    }
    if (p >= end || *p != '{')
        goto done;
    p = skip_space(p + 1, end);
    if (p < end && *p == '}') {
        p = skip_space(p + 1, end);
        outcome = p == end ? OK : UNSURE;
        goto done;
    }
    uint64_t pending = 0;  /* the hash of the key read last, not in the table yet (0: none; no hash is 0) */
    for (;;) {
        const unsigned char *key;
        size_t length;
        long long value;
        if (p >= end || *p != '"')
            goto done;
        if ((outcome = read_string(&p, end, &scratch, &key, &length)) != OK)
            goto done;
        outcome = UNSURE;
        p = skip_space(p, end);
        if (p >= end || *p != ':')
            goto done;
        p = skip_space(p + 1, end);
        if (read_value(&p, end, &value) != OK)
            goto done;
        uint64_t h = key_hash(hasher, key, length);
        /* the key before this one goes in now: its slot was asked of memory while this key was read */
        PREFETCH(&keys.slots[(size_t)h & keys.mask]);
        if (pending != 0 && (outcome = keyset_add(&keys, pending)) != OK)
            goto done;
        pending = h;
        outcome = UNSURE;
        /* a wanted key? (every one of its places in the tuple: the same bytes may be asked for twice) */
        size_t i = (size_t)h & wanted_table->mask;
        for (uint64_t slot; (slot = wanted_table->slots[i]) != 0; i = (i + 1) & wanted_table->mask) {
            Wanted *w = &wanted[slot - 1];
            if (w->hash == h && (size_t)w->length == length && memcmp(w->key, key, length) == 0) {
                w->found = 1;
                w->value = value;
            }
        }
        p = skip_space(p, end);
        if (p >= end)
            goto done;
        if (*p == ',') {
            p = skip_space(p + 1, end);
            continue;
        }
        if (*p != '}')
            goto done;
        p = skip_space(p + 1, end);
        outcome = p == end ? keyset_add(&keys, pending) : UNSURE;
        goto done;
    }
done:
    *size = (Py_ssize_t)keys.count;
    keyset_free(&keys);
    free(scratch.bytes);
    return outcome;
}

static PyObject *scan(PyObject *module, PyObject *args)
{
    Py_buffer data;
    Py_ssize_t start, end;
    PyObject *wanted_keys;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "y*nnO!K:scan", &data, &start, &end, &PyTuple_Type, &wanted_keys, &seed))
        return NULL;
    PyObject *result = NULL;
    Wanted *wanted = NULL;
    Index wanted_table = {NULL, 0};
    if (start < 0 || end < start || end > data.len) {
        PyErr_SetString(PyExc_ValueError, "scan: start and end must lie within the data");
        goto out;
    }
    Hasher hasher;
    hasher_init(&hasher, (uint64_t)seed);
    Py_ssize_t n_wanted = PyTuple_GET_SIZE(wanted_keys);
    wanted = PyMem_Calloc((size_t)n_wanted + 1, sizeof(Wanted));
    size_t capacity = 16;
    while (capacity < (size_t)n_wanted * 2 + 2)
        capacity *= 2;
    wanted_table.slots = calloc(capacity, sizeof(uint64_t));
    wanted_table.mask = capacity - 1;
    if (wanted == NULL || wanted_table.slots == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    for (Py_ssize_t i = 0; i < n_wanted; i++) {
        PyObject *item = PyTuple_GET_ITEM(wanted_keys, i);
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "scan: the wanted keys must be bytes");
            goto out;
        }
        wanted[i].key = (const unsigned char *)PyBytes_AS_STRING(item);
        wanted[i].length = PyBytes_GET_SIZE(item);
        wanted[i].hash = key_hash(&hasher, wanted[i].key, (size_t)wanted[i].length);
        size_t j = (size_t)wanted[i].hash & wanted_table.mask;
        while (wanted_table.slots[j] != 0)
            j = (j + 1) & wanted_table.mask;
        wanted_table.slots[j] = (uint64_t)i + 1;
    }
    Py_ssize_t size = 0;
    Outcome outcome;
    const unsigned char *bytes = (const unsigned char *)data.buf;
    Py_BEGIN_ALLOW_THREADS
    outcome = scan_object(bytes + start, bytes + end, wanted, &wanted_table, &hasher, &size);
    Py_END_ALLOW_THREADS
    if (outcome == NO_MEMORY) {
        PyErr_NoMemory();
        goto out;
    }
    if (outcome != OK) {
        result = Py_None;
        Py_INCREF(result);
        goto out;
    }
    PyObject *values = PyTuple_New(n_wanted);
    if (values == NULL)
        goto out;
    for (Py_ssize_t i = 0; i < n_wanted; i++) {
        PyObject *value;
        if (wanted[i].found)
            value = PyLong_FromLongLong(wanted[i].value);
        else {
            value = Py_None;
            Py_INCREF(value);
        }
        if (value == NULL) {
            Py_DECREF(values);
            goto out;
        }
        PyTuple_SET_ITEM(values, i, value);
    }
    result = Py_BuildValue("(nN)", size, values);
out:
    free(wanted_table.slots);
    PyMem_Free(wanted);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(data, start, end, wanted, seed) -> (size, values) | None: see eos_guard/_vocab_scan.c."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_vocab_scan", "The compiled half of eos_guard/vocab_scan.py.", -1, methods,
};

PyMODINIT_FUNC PyInit__vocab_scan(void)
{
    fill_byte_class();
    fill_utf8_tables();
    return PyModule_Create(&module);
}
