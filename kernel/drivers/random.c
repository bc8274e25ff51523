/* random.c: the kernel's ChaCha20 (RFC 7539) random generator, seeded from
 * host entropy, RDRAND and the TSC, rekeyed after every call. */
#include "random.h"
#include "lib/string.h"
#include "platform.h"
#include "arch/x86_64/x86.h"

#define ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d)                                   \
	do {                                             \
		a += b; d ^= a; d = ROTL(d, 16);         \
		c += d; b ^= c; b = ROTL(b, 12);         \
		a += b; d ^= a; d = ROTL(d, 8);          \
		c += d; b ^= c; b = ROTL(b, 7);          \
	} while (0)

static uint32_t key[8];
static uint32_t nonce[3];
static bool seeded;

/* The ChaCha20 block function: 20 rounds over constants, key, counter and
 * nonce, then the input added back in (RFC 7539 section 2.3). */
static void chacha20_block(const uint32_t k[8], uint32_t counter,
			   const uint32_t n[3], uint32_t out[16])
{
	uint32_t in[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
	int i;

	memcpy(&in[4], k, 32);
	in[12] = counter;
	memcpy(&in[13], n, 12);
	memcpy(out, in, 64);
	for (i = 0; i < 10; i++) {
		QR(out[0], out[4], out[8], out[12]);
		QR(out[1], out[5], out[9], out[13]);
		QR(out[2], out[6], out[10], out[14]);
		QR(out[3], out[7], out[11], out[15]);
		QR(out[0], out[5], out[10], out[15]);
		QR(out[1], out[6], out[11], out[12]);
		QR(out[2], out[7], out[8], out[13]);
		QR(out[3], out[4], out[9], out[14]);
	}
	for (i = 0; i < 16; i++)
		out[i] += in[i];
}

static bool rdrand64(uint64_t *v)
{
	bool ok;
	int tries;

	/* RDRAND may transiently fail (CF=0); Intel advises 10 retries. */
	for (tries = 0; tries < 10; tries++) {
		asm volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return true;
	}
	return false;
}

/* Replaces the key with fresh keystream (block 0), so earlier output can't
 * be reconstructed from a later state: "fast key erasure". */
static void rekey(void)
{
	uint32_t blk[16];

	chacha20_block(key, 0, nonce, blk);
	memcpy(key, blk, 32);
	memset(blk, 0, sizeof(blk));
}

void random_init(void)
{
	uint32_t r[4];
	uint64_t v, tsc = rdtsc();
	int i;

	/* The seed starts the key; RDRAND and the TSC are XORed in, so any one
	 * good source suffices and a missing one does no harm. */
	if (platform_seed)
		memcpy(key, platform_seed, 32);
	cpuid(1, 0, r);
	for (i = 0; i < 4 && (r[2] & (1u << 30)); i++)
		if (rdrand64(&v)) {
			key[2 * i] ^= (uint32_t)v;
			key[2 * i + 1] ^= (uint32_t)(v >> 32);
		}
	/* Weak alone (QEMU without RDRAND has no other source), but the TSC
	 * at least differs per boot. */
	nonce[0] ^= (uint32_t)tsc;
	nonce[1] ^= (uint32_t)(tsc >> 32);
	seeded = true;
	rekey();
}

void random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;
	uint32_t blk[16];
	uint32_t ctr = 1;

	if (!seeded)
		random_init();
	/* Rekeying every 64 KiB keeps the 32-bit block counter far from
	 * wrapping on huge requests. */
	while (len) {
		size_t n = MIN(len, sizeof(blk));

		chacha20_block(key, ctr++, nonce, blk);
		memcpy(p, blk, n);
		p += n, len -= n;
		if (ctr == 1024) {
			rekey();
			ctr = 1;
		}
	}
	memset(blk, 0, sizeof(blk));
	rekey();
}
