/* hash.h: 64-bit FNV-1a, for metadata checksums, cache keys and hash tables. */
#ifndef WISP_HASH_H
#define WISP_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Hashes n more bytes after those that gave h: pieces hashed in turn give
 * the hash of their concatenation. */
static inline uint64_t fnv64_more(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 1099511628211ull;
	return h;
}

static inline uint64_t fnv64(const void *p, size_t n)
{
	return fnv64_more(1469598103934665603ull, p, n);
}

#endif
