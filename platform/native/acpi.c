/* ACPI, only what boot needs: the MADT for the CPUs (local APIC / x2APIC ids), the I/O APIC and
 * the local APIC address; the FADT and DSDT for soft power-off (PM1a control, \_S5); the MCFG
 * for PCI Express configuration space (ECAM). */
#include <string.h>
#include "native.h"

struct sdt {
    char sig[4];
    uint32_t len;
    uint8_t rev, csum;
    char oem[6], table[8];
    uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

unsigned native_ncpus = 1;
uint32_t native_apic_ids[MAX_CPUS];
uint64_t native_lapic_phys = 0xFEE00000;
uint64_t native_ioapic_phys;
uint32_t native_ioapic_gsi_base;
uint64_t native_ecam_phys;
uint8_t native_ecam_bus_start, native_ecam_bus_end;
static uint16_t pm1a_cnt;
static uint16_t slp_typ_s5;

static bool checksum_ok(const void *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += ((const uint8_t *)p)[i];
    return s == 0;
}

static const uint8_t *find_rsdp(void)
{
    /* Page 0 is unmapped (NULL faults); the BIOS data area is read through the kernel map. */
    uint64_t ebda = (uint64_t)(*(const uint16_t *)phys_ptr(KERNEL_VMA + 0x40E)) << 4;
    uint64_t areas[2][2] = { { ebda, ebda + 1024 }, { 0xE0000, 0x100000 } };
    for (int a = 0; a < 2; a++) {
        if (areas[a][0] < 0x1000)
            continue; /* no EBDA pointer */
        for (uint64_t p = areas[a][0]; p + 20 <= areas[a][1]; p += 16)
            if (*(const uint64_t *)phys_ptr(p) == 0x2052545020445352ull /* "RSD PTR " */ &&
                checksum_ok(phys_ptr(p), 20))
                return phys_ptr(p);
    }
    return NULL;
}

static void parse_madt(const struct sdt *t)
{
    const uint8_t *p = (const uint8_t *)t + 44, *end = (const uint8_t *)t + t->len;
    uint32_t lapic32;
    memcpy(&lapic32, (const uint8_t *)t + 36, 4);
    native_lapic_phys = lapic32;
    unsigned n = 0;
    uint32_t bsp = apic_id();
    native_apic_ids[n++] = bsp; /* the boot CPU is core 0 */
    for (; p + 2 <= end && p[1] >= 2; p += p[1]) {
        uint32_t id, flags;
        switch (p[0]) {
        case 0: /* processor local APIC */
            id = p[3];
            memcpy(&flags, p + 4, 4);
            break;
        case 9: /* processor local x2APIC */
            memcpy(&id, p + 4, 4);
            memcpy(&flags, p + 8, 4);
            break;
        case 1: /* I/O APIC: the first one */
            if (!native_ioapic_phys) {
                uint32_t a;
                memcpy(&a, p + 4, 4);
                native_ioapic_phys = a;
                memcpy(&native_ioapic_gsi_base, p + 8, 4);
            }
            continue;
        case 5: /* 64-bit local APIC address */
            memcpy(&native_lapic_phys, p + 4, 8);
            continue;
        default:
            continue;
        }
        if (!(flags & 1) || id == bsp)
            continue;
        if (n == MAX_CPUS)
            continue;
        native_apic_ids[n++] = id;
    }
    native_ncpus = n;
}

/* MCFG: after the header and 8 reserved bytes, 16-byte entries (base, segment, first and last
 * bus). Only segment 0: the one the port mechanism would reach too. */
static void parse_mcfg(const struct sdt *t)
{
    const uint8_t *p = (const uint8_t *)t + 44, *end = (const uint8_t *)t + t->len;
    for (; p + 16 <= end; p += 16) {
        uint64_t base;
        uint16_t seg;
        memcpy(&base, p, 8);
        memcpy(&seg, p + 8, 2);
        if (seg != 0 || !base || p[11] < p[10] || (base & 0xFFFFF))
            continue;
        native_ecam_phys = base;
        native_ecam_bus_start = p[10];
        native_ecam_bus_end = p[11];
        return;
    }
}

static void parse_fadt(const struct sdt *t)
{
    const uint8_t *f = (const uint8_t *)t;
    uint32_t cnt, dsdt32;
    memcpy(&cnt, f + 64, 4);
    memcpy(&dsdt32, f + 40, 4);
    uint64_t dsdt = dsdt32;
    if (t->len >= 148) {
        uint64_t x;
        memcpy(&x, f + 140, 8);
        if (x)
            dsdt = x;
    }
    pm1a_cnt = (uint16_t)cnt;
    if (!dsdt || !mm_is_mapped(dsdt, sizeof(struct sdt)))
        return;
    /* \_S5 is a package whose first element is SLP_TYPa: find "_S5_" then PackageOp (0x12). */
    const struct sdt *d = (const struct sdt *)dsdt;
    const uint8_t *p = (const uint8_t *)d + sizeof *d, *end = (const uint8_t *)d + d->len;
    for (; p + 12 < end; p++) {
        if (memcmp(p, "_S5_", 4) || p[4] != 0x12)
            continue;
        const uint8_t *q = p + 5;
        q += ((*q & 0xC0) >> 6) + 1; /* PkgLength: lead byte plus extra bytes */
        q++;                         /* NumElements */
        if (*q == 0x0A)              /* BytePrefix; else ZeroOp (0) or OneOp (1) */
            q++;
        slp_typ_s5 = *q & 7;
        return;
    }
}

void acpi_init(void)
{
    native_apic_ids[0] = apic_id();
    const uint8_t *rsdp = find_rsdp();
    if (!rsdp)
        return; /* no ACPI: one CPU */
    uint32_t rsdt;
    uint64_t xsdt = 0;
    memcpy(&rsdt, rsdp + 16, 4);
    if (rsdp[15] >= 2)
        memcpy(&xsdt, rsdp + 24, 8);
    const struct sdt *root = (const struct sdt *)(xsdt ? xsdt : (uint64_t)rsdt);
    if (!mm_is_mapped((uint64_t)root, sizeof *root))
        return;
    unsigned esz = xsdt ? 8 : 4;
    unsigned n = (root->len - sizeof *root) / esz;
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = 0;
        memcpy(&a, (const uint8_t *)(root + 1) + i * esz, esz);
        const struct sdt *t = (const struct sdt *)a;
        if (!mm_is_mapped(a, sizeof *t))
            continue;
        if (!memcmp(t->sig, "APIC", 4))
            parse_madt(t);
        else if (!memcmp(t->sig, "FACP", 4))
            parse_fadt(t);
        else if (!memcmp(t->sig, "MCFG", 4) && mm_is_mapped(a, t->len))
            parse_mcfg(t);
    }
}

void acpi_poweroff(void)
{
    if (!pm1a_cnt)
        return;
    outw(pm1a_cnt, (uint16_t)(slp_typ_s5 << 10 | 1u << 13));
    for (int i = 0; i < 1000000; i++) /* it takes effect after the write returns */
        ebb_cpu_relax();
}
