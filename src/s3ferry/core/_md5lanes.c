/* Multi-buffer MD5 for s3ferry.core.md5lanes: many independent MD5s side by side in SIMD lanes.
 *
 * Why C: one MD5 is a serial chain, but an S3 transfer has many parts/ranges in flight, and
 * their MD5s fill 16 (AVX-512) or 8 (AVX2) 32-bit lanes, as isa-l_crypto's md5_mb and MinIO's
 * md5-simd do. No PyPI or Debian package offers that to Python. Measured against hashlib
 * (OpenSSL) in benchmarks/md5_lanes.py; figures in benchmarks/profile.md ("md5lanes").
 *
 * Built without global -m flags: each kernel carries its own target attribute and is picked at
 * run time (__builtin_cpu_supports), so the module imports on any CPU; cpu_kernels() says which
 * kernels this one can run. Lanes run in lockstep over 64-byte blocks; a lane whose stream has
 * no block left takes the next pending stream, or reads a zero block whose result is dropped.
 * The partial block (<64 bytes) and the length live in the Md5 object. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* MD5LANES_NO_SIMD: build the portable module only (how a non-x86 machine gets it; tested so). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(MD5LANES_NO_SIMD)
#define HAVE_X86 1
#include <immintrin.h>
#endif

#define MD5_ROUNDS \
    STEP(F, a, b, c, d,  0, 0xd76aa478,  7) STEP(F, d, a, b, c,  1, 0xe8c7b756, 12) \
    STEP(F, c, d, a, b,  2, 0x242070db, 17) STEP(F, b, c, d, a,  3, 0xc1bdceee, 22) \
    STEP(F, a, b, c, d,  4, 0xf57c0faf,  7) STEP(F, d, a, b, c,  5, 0x4787c62a, 12) \
    STEP(F, c, d, a, b,  6, 0xa8304613, 17) STEP(F, b, c, d, a,  7, 0xfd469501, 22) \
    STEP(F, a, b, c, d,  8, 0x698098d8,  7) STEP(F, d, a, b, c,  9, 0x8b44f7af, 12) \
    STEP(F, c, d, a, b, 10, 0xffff5bb1, 17) STEP(F, b, c, d, a, 11, 0x895cd7be, 22) \
    STEP(F, a, b, c, d, 12, 0x6b901122,  7) STEP(F, d, a, b, c, 13, 0xfd987193, 12) \
    STEP(F, c, d, a, b, 14, 0xa679438e, 17) STEP(F, b, c, d, a, 15, 0x49b40821, 22) \
    STEP(G, a, b, c, d,  1, 0xf61e2562,  5) STEP(G, d, a, b, c,  6, 0xc040b340,  9) \
    STEP(G, c, d, a, b, 11, 0x265e5a51, 14) STEP(G, b, c, d, a,  0, 0xe9b6c7aa, 20) \
    STEP(G, a, b, c, d,  5, 0xd62f105d,  5) STEP(G, d, a, b, c, 10, 0x02441453,  9) \
    STEP(G, c, d, a, b, 15, 0xd8a1e681, 14) STEP(G, b, c, d, a,  4, 0xe7d3fbc8, 20) \
    STEP(G, a, b, c, d,  9, 0x21e1cde6,  5) STEP(G, d, a, b, c, 14, 0xc33707d6,  9) \
    STEP(G, c, d, a, b,  3, 0xf4d50d87, 14) STEP(G, b, c, d, a,  8, 0x455a14ed, 20) \
    STEP(G, a, b, c, d, 13, 0xa9e3e905,  5) STEP(G, d, a, b, c,  2, 0xfcefa3f8,  9) \
    STEP(G, c, d, a, b,  7, 0x676f02d9, 14) STEP(G, b, c, d, a, 12, 0x8d2a4c8a, 20) \
    STEP(H, a, b, c, d,  5, 0xfffa3942,  4) STEP(H, d, a, b, c,  8, 0x8771f681, 11) \
    STEP(H, c, d, a, b, 11, 0x6d9d6122, 16) STEP(H, b, c, d, a, 14, 0xfde5380c, 23) \
    STEP(H, a, b, c, d,  1, 0xa4beea44,  4) STEP(H, d, a, b, c,  4, 0x4bdecfa9, 11) \
    STEP(H, c, d, a, b,  7, 0xf6bb4b60, 16) STEP(H, b, c, d, a, 10, 0xbebfbc70, 23) \
    STEP(H, a, b, c, d, 13, 0x289b7ec6,  4) STEP(H, d, a, b, c,  0, 0xeaa127fa, 11) \
    STEP(H, c, d, a, b,  3, 0xd4ef3085, 16) STEP(H, b, c, d, a,  6, 0x04881d05, 23) \
    STEP(H, a, b, c, d,  9, 0xd9d4d039,  4) STEP(H, d, a, b, c, 12, 0xe6db99e5, 11) \
    STEP(H, c, d, a, b, 15, 0x1fa27cf8, 16) STEP(H, b, c, d, a,  2, 0xc4ac5665, 23) \
    STEP(I, a, b, c, d,  0, 0xf4292244,  6) STEP(I, d, a, b, c,  7, 0x432aff97, 10) \
    STEP(I, c, d, a, b, 14, 0xab9423a7, 15) STEP(I, b, c, d, a,  5, 0xfc93a039, 21) \
    STEP(I, a, b, c, d, 12, 0x655b59c3,  6) STEP(I, d, a, b, c,  3, 0x8f0ccc92, 10) \
    STEP(I, c, d, a, b, 10, 0xffeff47d, 15) STEP(I, b, c, d, a,  1, 0x85845dd1, 21) \
    STEP(I, a, b, c, d,  8, 0x6fa87e4f,  6) STEP(I, d, a, b, c, 15, 0xfe2ce6e0, 10) \
    STEP(I, c, d, a, b,  6, 0xa3014314, 15) STEP(I, b, c, d, a, 13, 0x4e0811a1, 21) \
    STEP(I, a, b, c, d,  4, 0xf7537e82,  6) STEP(I, d, a, b, c, 11, 0xbd3af235, 10) \
    STEP(I, c, d, a, b,  2, 0x2ad7d2bb, 15) STEP(I, b, c, d, a,  9, 0xeb86d391, 21)

static const uint32_t INIT[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};

static inline uint32_t load_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

/* ---- scalar: one stream (one item, or the last lane left) ---- */
#define F_S(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
/* G as a sum of disjoint bit sets: ~d & c does not wait for b, which shortens the chain. */
#define G_S(b, c, d) (((d) & (b)) + (~(d) & (c)))
#define H_S(b, c, d) ((b) ^ ((c) ^ (d)))
#define I_S(b, c, d) ((c) ^ ((b) | ~(d)))
#define ROL32(x, s) (((x) << (s)) | ((x) >> (32 - (s))))
/* a + M + k does not wait for b; only f, one add, the rotate and + b do (the chain). */
#define STEP(f, a, b, c, d, g, k, s) a = (a + M[g] + k) + f##_S(b, c, d); a = ROL32(a, s) + b;

static void md5_scalar(uint32_t st[4], const uint8_t *p, size_t nblocks)
{
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3], M[16];
    for (; nblocks; nblocks--, p += 64) {
        uint32_t aa = a, bb = b, cc = c, dd = d;
        for (int w = 0; w < 16; w++) M[w] = load_le32(p + 4 * w);
        MD5_ROUNDS
        a += aa; b += bb; c += cc; d += dd;
    }
    st[0] = a; st[1] = b; st[2] = c; st[3] = d;
}
#undef STEP

/* A SIMD kernel: nblocks blocks in every lane; lane l reads ptr[l] + 64*i (step[l] is 64, or 0
 * for an idle lane parked on a zero block). st is transposed: st[word][lane]. */
typedef void (*kernel_fn)(uint32_t st[4][16], const uint8_t *const ptr[16], const uint64_t step[16], size_t nblocks);

#ifdef HAVE_X86
#define STEP(f, a, b, c, d, g, k, s) a = ADD(ADD(a, ADD(M[g], SET1((int)k))), f##_V(b, c, d)); a = ADD(ROL(a, s), b);

/* 16 lanes of 32 bits: vprold rotates, vpternlogd computes F/G/H/I in one instruction. Message
 * words come from gathers (8 lane pointers per vpgatherqd). */
#define ADD _mm512_add_epi32
#define SET1 _mm512_set1_epi32
#define ROL _mm512_rol_epi32
#define F_V(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0xca)
#define G_V(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0xe4)
#define H_V(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0x96)
#define I_V(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0x39)
__attribute__((target("avx512f,avx512vl")))
static void md5_x16_avx512(uint32_t st[4][16], const uint8_t *const ptr[16], const uint64_t step[16], size_t nblocks)
{
    __m512i a = _mm512_loadu_si512(st[0]), b = _mm512_loadu_si512(st[1]);
    __m512i c = _mm512_loadu_si512(st[2]), d = _mm512_loadu_si512(st[3]), M[16];
    __m512i p0 = _mm512_loadu_si512(ptr), p1 = _mm512_loadu_si512(ptr + 8);
    __m512i s0 = _mm512_loadu_si512(step), s1 = _mm512_loadu_si512(step + 8);
#define GATHER16(dst)                                                                       \
    for (int w = 0; w < 16; w++) {                                                          \
        __m256i lo = _mm512_i64gather_epi32(p0, (const void *)(uintptr_t)(4 * w), 1);      \
        __m256i hi = _mm512_i64gather_epi32(p1, (const void *)(uintptr_t)(4 * w), 1);      \
        dst[w] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);                    \
    }
    /* The next block's words are gathered before this block's rounds: the rounds are one long
     * dependency chain, and the gathers fill the idle ports meanwhile (measured: see md5lanes). */
    __m512i Mn[16];
    GATHER16(M)
    for (; nblocks; nblocks--) {
        __m512i aa = a, bb = b, cc = c, dd = d;
        p0 = _mm512_add_epi64(p0, s0); p1 = _mm512_add_epi64(p1, s1);
        if (nblocks > 1) GATHER16(Mn)
        MD5_ROUNDS
        a = ADD(a, aa); b = ADD(b, bb); c = ADD(c, cc); d = ADD(d, dd);
        memcpy(M, Mn, sizeof M);
    }
    _mm512_storeu_si512(st[0], a); _mm512_storeu_si512(st[1], b);
    _mm512_storeu_si512(st[2], c); _mm512_storeu_si512(st[3], d);
}
#undef ADD
#undef SET1
#undef ROL
#undef F_V
#undef G_V
#undef H_V
#undef I_V

/* 8 lanes in ymm registers, shared by the AVX-512VL (few streams on an AVX-512 CPU: vprold and
 * vpternlogd on ymm) and the AVX2 kernels. */
#define GATHER8(dst, p0, p1)                                                                \
    for (int w = 0; w < 16; w++) {                                                          \
        __m128i lo = _mm256_i64gather_epi32((const void *)(uintptr_t)(4 * w), p0, 1);      \
        __m128i hi = _mm256_i64gather_epi32((const void *)(uintptr_t)(4 * w), p1, 1);      \
        dst[w] = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);               \
    }
#define X8_BODY                                                                                   \
    __m256i a = _mm256_loadu_si256((const void *)st[0]), b = _mm256_loadu_si256((const void *)st[1]); \
    __m256i c = _mm256_loadu_si256((const void *)st[2]), d = _mm256_loadu_si256((const void *)st[3]); \
    __m256i p0 = _mm256_loadu_si256((const void *)ptr), p1 = _mm256_loadu_si256((const void *)(ptr + 4)); \
    __m256i s0 = _mm256_loadu_si256((const void *)step), s1 = _mm256_loadu_si256((const void *)(step + 4)); \
    __m256i M[16];                                                                                \
    __m256i Mn[16];                                                                               \
    GATHER8(M, p0, p1)                                                                                   \
    for (; nblocks; nblocks--) {                                                                  \
        __m256i aa = a, bb = b, cc = c, dd = d;                                                   \
        p0 = _mm256_add_epi64(p0, s0); p1 = _mm256_add_epi64(p1, s1);                             \
        if (nblocks > 1) GATHER8(Mn, p0, p1)                                                             \
        MD5_ROUNDS                                                                                \
        a = ADD(a, aa); b = ADD(b, bb); c = ADD(c, cc); d = ADD(d, dd);                          \
        memcpy(M, Mn, sizeof M);                                                                  \
    }                                                                                             \
    _mm256_storeu_si256((void *)st[0], a); _mm256_storeu_si256((void *)st[1], b);                \
    _mm256_storeu_si256((void *)st[2], c); _mm256_storeu_si256((void *)st[3], d);

#define ADD _mm256_add_epi32
#define SET1 _mm256_set1_epi32
#define ROL _mm256_rol_epi32
#define F_V(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0xca)
#define G_V(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0xe4)
#define H_V(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0x96)
#define I_V(b, c, d) _mm256_ternarylogic_epi32(b, c, d, 0x39)
__attribute__((target("avx2,avx512f,avx512vl")))
static void md5_x8_avx512vl(uint32_t st[4][16], const uint8_t *const ptr[16], const uint64_t step[16], size_t nblocks)
{
    X8_BODY
}
#undef ROL
#undef F_V
#undef G_V
#undef H_V
#undef I_V

#define ROL(x, s) _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - (s)))
#define F_V(b, c, d) _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
#define G_V(b, c, d) _mm256_add_epi32(_mm256_and_si256(d, b), _mm256_andnot_si256(d, c))
#define H_V(b, c, d) _mm256_xor_si256(b, _mm256_xor_si256(c, d))
#define I_V(b, c, d) _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, _mm256_set1_epi32(-1))))
__attribute__((target("avx2")))
static void md5_x8_avx2(uint32_t st[4][16], const uint8_t *const ptr[16], const uint64_t step[16], size_t nblocks)
{
    X8_BODY
}

/* 16 lanes on AVX2: two 8-lane groups interleaved step by step. Without vprold and vpternlogd one
 * step's chain is ~6 instructions long and one group leaves the ports idle; two fill them. */
#undef STEP
#define STEP(f, a, b, c, d, g, k, s)                                                        \
    a = ADD(ADD(a, ADD(M[g], SET1((int)k))), f##_V(b, c, d)); a = ADD(ROL(a, s), b);       \
    a##2 = ADD(ADD(a##2, ADD(M2[g], SET1((int)k))), f##_V(b##2, c##2, d##2));              \
    a##2 = ADD(ROL(a##2, s), b##2);
#define LOAD8(x) _mm256_loadu_si256((const void *)(x))
__attribute__((target("avx2")))
static void md5_x16_avx2(uint32_t st[4][16], const uint8_t *const ptr[16], const uint64_t step[16], size_t nblocks)
{
    __m256i a = LOAD8(st[0]), b = LOAD8(st[1]), c = LOAD8(st[2]), d = LOAD8(st[3]);
    __m256i a2 = LOAD8(st[0] + 8), b2 = LOAD8(st[1] + 8), c2 = LOAD8(st[2] + 8), d2 = LOAD8(st[3] + 8);
    __m256i p0 = LOAD8(ptr), p1 = LOAD8(ptr + 4), q0 = LOAD8(ptr + 8), q1 = LOAD8(ptr + 12);
    __m256i s0 = LOAD8(step), s1 = LOAD8(step + 4), t0 = LOAD8(step + 8), t1 = LOAD8(step + 12);
    __m256i M[16], M2[16];
    for (; nblocks; nblocks--) {
        __m256i aa = a, bb = b, cc = c, dd = d, aa2 = a2, bb2 = b2, cc2 = c2, dd2 = d2;
        GATHER8(M, p0, p1)
        GATHER8(M2, q0, q1)
        MD5_ROUNDS
        a = ADD(a, aa); b = ADD(b, bb); c = ADD(c, cc); d = ADD(d, dd);
        a2 = ADD(a2, aa2); b2 = ADD(b2, bb2); c2 = ADD(c2, cc2); d2 = ADD(d2, dd2);
        p0 = _mm256_add_epi64(p0, s0); p1 = _mm256_add_epi64(p1, s1);
        q0 = _mm256_add_epi64(q0, t0); q1 = _mm256_add_epi64(q1, t1);
    }
    _mm256_storeu_si256((void *)st[0], a); _mm256_storeu_si256((void *)st[1], b);
    _mm256_storeu_si256((void *)st[2], c); _mm256_storeu_si256((void *)st[3], d);
    _mm256_storeu_si256((void *)(st[0] + 8), a2); _mm256_storeu_si256((void *)(st[1] + 8), b2);
    _mm256_storeu_si256((void *)(st[2] + 8), c2); _mm256_storeu_si256((void *)(st[3] + 8), d2);
}
#undef LOAD8
#undef ADD
#undef SET1
#undef ROL
#undef F_V
#undef G_V
#undef H_V
#undef I_V
#undef STEP
#endif /* HAVE_X86 */

/* ---- the Md5 object ---- */
typedef struct {
    PyObject_HEAD
    uint32_t st[4];
    uint64_t len;          /* bytes fed so far */
    uint8_t tail[64];      /* the partial block; also the block a lane hashes when it fills */
    uint32_t tail_len;
    void *owner;           /* the call hashing it with the GIL released, or NULL */
    Py_ssize_t mark;       /* that call's stream index for it */
} Md5Obj;

static PyTypeObject Md5Type;

/* One Md5's pieces, in list order, and where its lane has got to. */
typedef struct {
    Md5Obj *m;
    Py_buffer *const *pieces;
    Py_ssize_t i, end, off;
} Stream;

/* The next run of whole blocks of a stream: a pointer into the caller's data, or the Md5's own
 * tail once a piece boundary fills it. Leaves <64 bytes in the tail; 0 = the stream is done. */
static size_t next_run(Stream *s, const uint8_t **ptr)
{
    Md5Obj *m = s->m;
    while (s->i < s->end) {
        const uint8_t *data = (const uint8_t *)s->pieces[s->i]->buf + s->off;
        size_t rem = (size_t)(s->pieces[s->i]->len - s->off);
        if (rem == 0) {
            s->i++; s->off = 0;
        } else if (m->tail_len) {
            size_t take = 64 - m->tail_len < rem ? 64 - m->tail_len : rem;
            memcpy(m->tail + m->tail_len, data, take);
            m->tail_len += (uint32_t)take; s->off += (Py_ssize_t)take;
            if (m->tail_len == 64) {
                m->tail_len = 0; *ptr = m->tail; return 1;
            }
        } else if (rem >= 64) {
            *ptr = data; s->off += (Py_ssize_t)(rem & ~(size_t)63); return rem / 64;
        } else {
            memcpy(m->tail, data, rem); m->tail_len = (uint32_t)rem; s->off += (Py_ssize_t)rem;
        }
    }
    return 0;
}

static void run_scalar(Stream *s)
{
    const uint8_t *p;
    size_t n;
    while ((n = next_run(s, &p))) md5_scalar(s->m->st, p, n);
}

#ifdef HAVE_X86
static const uint8_t ZERO_BLOCK[64];

/* Streams through `lanes` lanes of kernel k; a lane that finishes takes the next stream. When one
 * lane is left and nothing waits, the scalar code finishes it (a SIMD step costs ~ one scalar one). */
static void run_lanes(Stream *streams, Py_ssize_t ns, int lanes, kernel_fn k)
{
    uint32_t st[4][16];
    const uint8_t *ptr[16];
    uint64_t step[16];
    size_t left[16] = {0};
    Stream *cur[16] = {0};
    Py_ssize_t next = 0;
    memset(st, 0, sizeof st);
    for (int l = 0; l < 16; l++) { ptr[l] = ZERO_BLOCK; step[l] = 0; }
    for (;;) {
        int active = 0, last = 0;
        size_t n = SIZE_MAX;
        for (int l = 0; l < lanes; l++) {
            while (left[l] == 0) {
                const uint8_t *p;
                size_t nb = cur[l] ? next_run(cur[l], &p) : 0;
                if (nb) { ptr[l] = p; left[l] = nb; step[l] = 64; break; }
                if (cur[l]) for (int w = 0; w < 4; w++) cur[l]->m->st[w] = st[w][l];
                ptr[l] = ZERO_BLOCK; step[l] = 0; cur[l] = NULL;
                if (next >= ns) break;
                cur[l] = &streams[next++];
                for (int w = 0; w < 4; w++) st[w][l] = cur[l]->m->st[w];
            }
            if (left[l]) { active++; last = l; if (left[l] < n) n = left[l]; }
        }
        if (active == 0) return;
        if (active == 1 && next >= ns) {
            Stream *s = cur[last];
            for (int w = 0; w < 4; w++) s->m->st[w] = st[w][last];
            md5_scalar(s->m->st, ptr[last], left[last]);
            run_scalar(s);
            return;
        }
        k(st, ptr, step, n);
        for (int l = 0; l < lanes; l++)
            if (left[l]) { left[l] -= n; ptr[l] += 64 * n; }
    }
}

#endif /* HAVE_X86 */

static int have_avx512, have_avx2;
static PyObject *update_name; /* "update", interned */

/* The widest kernel that is worth it for ns streams (lanes: 16, 8 or 1 as asked by the caller). */
static void hash_streams(Stream *streams, Py_ssize_t ns, int lanes)
{
#ifdef HAVE_X86
    if (lanes >= 16 && have_avx512 && ns > 8) { run_lanes(streams, ns, 16, md5_x16_avx512); return; }
    if (lanes >= 16 && have_avx512 && ns > 1) { run_lanes(streams, ns, 8, md5_x8_avx512vl); return; }
    if (lanes >= 8 && have_avx2 && ns > 8) { run_lanes(streams, ns, 16, md5_x16_avx2); return; }
    if (lanes >= 8 && have_avx2 && ns > 1) { run_lanes(streams, ns, 8, md5_x8_avx2); return; }
#endif
    for (Py_ssize_t i = 0; i < ns; i++) run_scalar(&streams[i]);
}

/* ---- Python glue ---- */
#define GIL_FREE_BYTES 2048 /* as hashlib: below it, releasing the GIL costs more than it gives */

static int claim(Md5Obj *m, void *token)
{
    if (m->owner == NULL) { m->owner = token; return 1; }
    if (m->owner == token) return 0;
    PyErr_SetString(PyExc_RuntimeError, "this Md5 is being updated by another thread");
    return -1;
}

static void hash_one(Md5Obj *m, Py_buffer *view)
{
    Py_buffer *pieces[1] = {view};
    Stream s = {m, pieces, 0, 1, 0};
    m->len += (uint64_t)view->len;
    if (view->len < GIL_FREE_BYTES) { run_scalar(&s); return; }
    m->owner = &s;
    Py_BEGIN_ALLOW_THREADS
    run_scalar(&s);
    Py_END_ALLOW_THREADS
    m->owner = NULL;
}

static PyObject *Md5_update(Md5Obj *self, PyObject *data)
{
    Py_buffer view;
    if (self->owner) return claim(self, NULL), NULL;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) return NULL;
    hash_one(self, &view);
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *Md5_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"data", NULL};
    PyObject *data = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:Md5", kwlist, &data)) return NULL;
    Md5Obj *self = (Md5Obj *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    memcpy(self->st, INIT, sizeof INIT);
    if (data && Md5_update(self, data) == NULL) { Py_DECREF(self); return NULL; }
    if (data) Py_DECREF(Py_None);
    return (PyObject *)self;
}

static int finish(Md5Obj *self, uint8_t out[16])
{
    uint32_t st[4];
    uint8_t pad[128] = {0};
    if (self->owner) return claim(self, NULL);
    uint64_t bits = self->len * 8;
    size_t n = self->tail_len < 56 ? 64 : 128;
    memcpy(st, self->st, sizeof st);
    memcpy(pad, self->tail, self->tail_len);
    pad[self->tail_len] = 0x80;
    for (int i = 0; i < 8; i++) pad[n - 8 + i] = (uint8_t)(bits >> (8 * i));
    md5_scalar(st, pad, n / 64);
    for (int i = 0; i < 16; i++) out[i] = (uint8_t)(st[i / 4] >> (8 * (i % 4)));
    return 0;
}

static PyObject *Md5_digest(Md5Obj *self, PyObject *unused)
{
    uint8_t out[16];
    if (finish(self, out) < 0) return NULL;
    return PyBytes_FromStringAndSize((const char *)out, 16);
}

static PyObject *Md5_hexdigest(Md5Obj *self, PyObject *unused)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t out[16];
    char text[32];
    if (finish(self, out) < 0) return NULL;
    for (int i = 0; i < 16; i++) { text[2 * i] = hex[out[i] >> 4]; text[2 * i + 1] = hex[out[i] & 15]; }
    return PyUnicode_FromStringAndSize(text, 32);
}

static PyObject *Md5_copy(Md5Obj *self, PyObject *unused)
{
    if (self->owner) return claim(self, NULL), NULL;
    Md5Obj *twin = (Md5Obj *)Py_TYPE(self)->tp_alloc(Py_TYPE(self), 0);
    if (twin == NULL) return NULL;
    memcpy(twin->st, self->st, sizeof self->st);
    memcpy(twin->tail, self->tail, sizeof self->tail);
    twin->len = self->len;
    twin->tail_len = self->tail_len;
    return (PyObject *)twin;
}

/* Gathers the items' buffers (with the GIL), groups them by Md5 keeping list order, then hashes
 * without the GIL; an item whose hasher is not an Md5 gets that hasher's update() on the way. Each Md5 is claimed for this call, so another thread touching it fails loudly
 * instead of corrupting it; nothing else is shared between calls. */
static PyObject *update_many(PyObject *module, PyObject *args)
{
    PyObject *items, *seq;
    int lanes, token;
    if (!PyArg_ParseTuple(args, "Oi:update_many", &items, &lanes)) return NULL;
    if (!(seq = PySequence_Fast(items, "update_many() wants a sequence of (Md5, buffer) pairs"))) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), got = 0, ns = 0;
    size_t total = 0;
    Py_buffer *views = PyMem_Calloc(n + 1, sizeof *views);
    Py_buffer **ordered = PyMem_Calloc(n + 1, sizeof *ordered);
    Md5Obj **of = PyMem_Calloc(n + 1, sizeof *of);  /* item i's Md5, then stream s's Md5 */
    Stream *streams = PyMem_Calloc(n + 1, sizeof *streams);
    Py_ssize_t *fill = PyMem_Calloc(n + 1, sizeof *fill);
    PyObject *result = NULL;
    if (!views || !ordered || !of || !streams || !fill) { PyErr_NoMemory(); goto done; }
    for (; got < n; got++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, got);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_SetString(PyExc_TypeError, "update_many() wants (Md5, buffer) tuples");
            goto done;
        }
        if (!PyObject_TypeCheck(PyTuple_GET_ITEM(item, 0), &Md5Type)) {
            /* Another hasher (hashlib's, say): its own update, now, as the plain loop would. */
            PyObject *r = PyObject_CallMethodOneArg(PyTuple_GET_ITEM(item, 0), update_name, PyTuple_GET_ITEM(item, 1));
            if (r == NULL) goto done;
            Py_DECREF(r);
            continue;
        }
        Md5Obj *m = of[got] = (Md5Obj *)PyTuple_GET_ITEM(item, 0);
        int fresh = claim(m, &token);
        if (fresh < 0) goto done;
        if (fresh) { m->mark = ns; streams[ns++].m = m; Py_INCREF(m); } /* the list may change meanwhile */
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(item, 1), &views[got], PyBUF_SIMPLE) < 0) goto done;
        streams[m->mark].end++;
        total += (size_t)views[got].len;
        m->len += (uint64_t)views[got].len;
    }
    for (Py_ssize_t s = 0, at = 0; s < ns; s++) {
        streams[s].i = at; at += streams[s].end; streams[s].end = at; streams[s].pieces = ordered;
        fill[s] = streams[s].i;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (of[i]) ordered[fill[of[i]->mark]++] = &views[i];
    if (total < GIL_FREE_BYTES) {
        hash_streams(streams, ns, lanes);
    } else {
        Py_BEGIN_ALLOW_THREADS
        hash_streams(streams, ns, lanes);
        Py_END_ALLOW_THREADS
    }
    result = Py_None;
    Py_INCREF(result);
done:
    if (result == NULL && of) /* undo the lengths counted before the failure */
        for (Py_ssize_t i = 0; i < got; i++)
            if (of[i]) of[i]->len -= (uint64_t)views[i].len;
    for (Py_ssize_t s = 0; s < ns; s++) { streams[s].m->owner = NULL; Py_DECREF(streams[s].m); }
    for (Py_ssize_t i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    PyMem_Free(views); PyMem_Free(ordered); PyMem_Free(of); PyMem_Free(streams); PyMem_Free(fill);
    Py_DECREF(seq);
    return result;
}

static PyObject *cpu_kernels(PyObject *module, PyObject *unused)
{
    if (have_avx512) return Py_BuildValue("(ss)", "avx512", "avx2");
    if (have_avx2) return Py_BuildValue("(s)", "avx2");
    return PyTuple_New(0);
}

static PyMethodDef Md5_methods[] = {
    {"update", (PyCFunction)Md5_update, METH_O, "Feed bytes."},
    {"digest", (PyCFunction)Md5_digest, METH_NOARGS, "The 16-byte digest so far (the Md5 goes on)."},
    {"hexdigest", (PyCFunction)Md5_hexdigest, METH_NOARGS, "The digest so far, in hex."},
    {"copy", (PyCFunction)Md5_copy, METH_NOARGS, "An independent copy."},
    {NULL},
};

static PyTypeObject Md5Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "s3ferry.core._md5lanes.Md5",
    .tp_doc = "An MD5 in progress (like hashlib.md5) whose updates update_many runs in SIMD lanes.",
    .tp_basicsize = sizeof(Md5Obj),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Md5_new,
    .tp_methods = Md5_methods,
};

static PyMethodDef module_methods[] = {
    {"update_many", update_many, METH_VARARGS, "update_many(items, lanes): (Md5, buffer) pairs, side by side."},
    {"cpu_kernels", cpu_kernels, METH_NOARGS, "The SIMD kernels this CPU runs, best first; () = none."},
    {NULL},
};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_md5lanes", NULL, -1, module_methods};

PyMODINIT_FUNC PyInit__md5lanes(void)
{
#ifdef HAVE_X86
    __builtin_cpu_init();
    have_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    have_avx2 = __builtin_cpu_supports("avx2");
#endif
    if (PyType_Ready(&Md5Type) < 0) return NULL;
    if (update_name == NULL && (update_name = PyUnicode_InternFromString("update")) == NULL) return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m && PyModule_AddObjectRef(m, "Md5", (PyObject *)&Md5Type) < 0) Py_CLEAR(m);
    return m;
}
