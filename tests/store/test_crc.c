/*
 * tests/store/test_crc.c — the store's CRC32C (every chunk and block is
 * checked with it on read) equals the bit-by-bit definition, at every
 * length around the hardware path's three-stream rounds, and chains.
 */
#include "store/store_int.h"
#include "test.h"

/* CRC32C by its definition: reflected polynomial 0x82f63b78, one bit at
 * a time, initial value and final xor all ones. */
static uint32_t crc_ref(uint32_t crc, const uint8_t *p, size_t n)
{
    uint32_t c = ~crc;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    }
    return ~c;
}

TEST(crc_check_value)
{
    CHECK_EQ_INT(store_crc32c(0, "123456789", 9), 0xE3069283u);
}

TEST(crc_matches_definition)
{
    static uint8_t buf[3 * 4096 * 3 + 64];
    uint64_t x = 88172645463325252ULL;
    static const size_t lens[] = {0, 1, 7, 8, 9, 4095, 12287, 12288, 12289, 12295, 24576,
                                  24577, 36863, 36864, 36865, sizeof buf};

    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (size_t off = 0; off < 3; off++) {
            size_t n = lens[i] - (lens[i] >= off ? off : 0);
            CHECK_EQ_INT(store_crc32c(0, buf + off, n), crc_ref(0, buf + off, n));
        }
    /* chained: the CRC of a whole equals the CRC of its second part
     * started from the CRC of its first */
    CHECK_EQ_INT(store_crc32c(store_crc32c(0, buf, 12290), buf + 12290, 20000),
                 crc_ref(0, buf, 32290));
}

int main(void)
{
    RUN(crc_check_value);
    RUN(crc_matches_definition);
    TEST_EXIT();
}
