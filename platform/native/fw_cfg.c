/* QEMU's firmware configuration device (fw_cfg) on its x86 I/O ports: the way a front end hands
 * a node a secret without putting it on the kernel command line (which the guest and anyone who
 * can list the host's processes can read). The host side is
 *   qemu-system-x86_64 ... -fw_cfg name=opt/ebbrt/key,file=F      (F: mode 0600)
 * and natively platform_read_key(path) reads the fw_cfg file named path ("opt/ebbrt/key").
 *
 * Protocol: write a 16-bit selector to port 0x510, then read the item's bytes one by one from
 * port 0x511. Item 0 is the signature "QEMU"; item 0x19 the file directory: a big-endian count,
 * then per file {be32 size, be16 select, u16 reserved, char name[56]}. */
#include "core/platform.h"
#include <errno.h>
#include <string.h>
#include "core/spinlock.h"
#include "native.h"

#define FW_CFG_PORT_SEL  0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_FILE_DIR  0x0019
#define FW_CFG_NAME_MAX  56
#define FW_CFG_FILES_MAX 4096 /* more than QEMU ever lists: a corrupt count stops here */

static int fw_cfg_lock; /* the selector is one device-wide state */

static void fw_cfg_read(void *buf, size_t n)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = inb(FW_CFG_PORT_DATA);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

/* The selector and size of the file called name: 0, or -ENOENT (-ENODEV: no fw_cfg at all). */
static int fw_cfg_find(const char *name, uint16_t *sel, uint32_t *size)
{
    char sig[4];
    outw(FW_CFG_PORT_SEL, FW_CFG_SIGNATURE);
    fw_cfg_read(sig, 4);
    if (memcmp(sig, "QEMU", 4) != 0)
        return -ENODEV;
    uint8_t cnt[4];
    outw(FW_CFG_PORT_SEL, FW_CFG_FILE_DIR);
    fw_cfg_read(cnt, 4);
    uint32_t n = be32(cnt);
    for (uint32_t i = 0; i < n && i < FW_CFG_FILES_MAX; i++) {
        uint8_t e[8];
        char fname[FW_CFG_NAME_MAX];
        fw_cfg_read(e, 8);
        fw_cfg_read(fname, sizeof fname);
        fname[FW_CFG_NAME_MAX - 1] = 0;
        if (strcmp(fname, name) == 0) {
            *size = be32(e);
            *sel = (uint16_t)(e[4] << 8 | e[5]);
            return 0;
        }
    }
    return -ENOENT;
}

int platform_read_key(const char *path, void *buf, size_t cap)
{
    uint16_t sel;
    uint32_t size;
    if (!path || strlen(path) >= FW_CFG_NAME_MAX)
        return -ENAMETOOLONG;
    spin_lock(&fw_cfg_lock);
    int err = fw_cfg_find(path, &sel, &size);
    if (!err) {
        outw(FW_CFG_PORT_SEL, sel);
        size = size < cap ? size : (uint32_t)cap;
        fw_cfg_read(buf, size);
    }
    spin_unlock(&fw_cfg_lock);
    return err ? err : (int)size;
}
