/*
 * virtio.S -- virtio-mmio transport and virtio console (virtio 1.2 spec
 * sections 4.2.2, 2.7, 5.3): find the console among the 32 transports at
 * 0x0A000000 (0x200 apart), bring it up the modern way (Version 2,
 * VIRTIO_F_VERSION_1), set up port 0's transmitq (queue 1) as a split
 * virtqueue, print one line through it and check the used ring, the
 * interrupt status and the GIC pending bit of the transport's SPI.
 *
 * QEMU needs `-global virtio-mmio.force-legacy=false` (its transports default
 * to the legacy Version 1 layout) and a console on the MMIO bus; see README.md.
 *
 * Checks:
 *   - a transport with MagicValue "virt", Version 2, DeviceID 3 exists; its
 *     index and SPI (16 + n) are printed (QEMU and chimera both use the
 *     highest transport, 31, SPI 47, for the first device)
 *   - every other transport reads MagicValue "virt" and DeviceID 0 or a
 *     different device (nothing else is attached here: 0)
 *   - reset: Status reads 0 after writing 0 (spec 4.2.2.1)
 *   - DeviceFeatures word 1 has VIRTIO_F_VERSION_1 (bit 32, spec 6.1)
 *   - FEATURES_OK stays set after the driver accepts only VERSION_1 (spec 3.1.1)
 *   - QueueNumMax of queue 1 >= 8, QueueReady reads 0 then 1 (spec 4.2.3.2)
 *   - after QueueNotify the device returns the buffer: used.idx = 1,
 *     used.ring[0] = { id 0, len 0 } (spec 2.7.8; a transmit buffer is only read)
 *   - InterruptStatus bit 0 (used buffer), the GIC shows the SPI pending
 *     (GICD_ISPENDR), InterruptACK clears the status (spec 4.2.2)
 *   - a second buffer (two chained descriptors) is also printed and used
 */
#include "lib/guest.h"

#define VIRTIO_BASE     0x0A000000
#define VIRTIO_STRIDE   0x200
#define VIRTIO_COUNT    32

#define V_MAGIC         0x000
#define V_VERSION       0x004
#define V_DEVICE_ID     0x008
#define V_DEV_FEAT      0x010
#define V_DEV_FEAT_SEL  0x014
#define V_DRV_FEAT      0x020
#define V_DRV_FEAT_SEL  0x024
#define V_QUEUE_SEL     0x030
#define V_QUEUE_NUM_MAX 0x034
#define V_QUEUE_NUM     0x038
#define V_QUEUE_READY   0x044
#define V_QUEUE_NOTIFY  0x050
#define V_INT_STATUS    0x060
#define V_INT_ACK       0x064
#define V_STATUS        0x070
#define V_DESC_LO       0x080
#define V_DESC_HI       0x084
#define V_DRIVER_LO     0x090
#define V_DRIVER_HI     0x094
#define V_DEVICE_LO     0x0a0
#define V_DEVICE_HI     0x0a4

#define ST_ACK          1
#define ST_DRIVER       2
#define ST_DRIVER_OK    4
#define ST_FEATURES_OK  8

#define QSIZE           8
#define DESC_F_NEXT     1

    .section .rodata
msg1:   .ascii "hello from the virtio console\n"
msg1_end:
msg2:   .ascii "chained descriptors work\n"
msg2_end:
    .equ MSG1_LEN, msg1_end - msg1
    .equ MSG2_TAIL, msg2_end - msg2 - 7

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!

    // ---- scan the transports: x19 = console base, x20 = index, x21 = others ok
    mov     x19, #0
    mov     x20, #0
    mov     x21, #1
    mov     x22, #0
    ldr     x9, =VIRTIO_BASE
    ldr     w10, =0x74726976
1:  ldr     w11, [x9, #V_MAGIC]
    cmp     w11, w10
    b.ne    3f
    ldr     w11, [x9, #V_VERSION]
    ldr     w12, [x9, #V_DEVICE_ID]
    cmp     w12, #3
    b.ne    2f
    cmp     w11, #2
    b.ne    2f
    cbnz    x19, 4f                     // first console only
    mov     x19, x9
    mov     x20, x22
    b       4f
2:  cbz     w12, 4f                     // empty transport
3:  mov     x21, #0                     // bad magic or another device
4:  add     x9, x9, #VIRTIO_STRIDE
    add     x22, x22, #1
    cmp     x22, #VIRTIO_COUNT
    b.lo    1b

    cbnz    x19, 5f
    FAIL    "virtio console found", "(no Version 2 transport with DeviceID 3)"
    b       99f
5:  PASS    "virtio console found (MagicValue, Version 2, DeviceID 3)"
    PRINT   "console on transport "
    mov     x0, x20
    bl      putdec
    PRINT   ", SPI "
    add     x0, x20, #16
    bl      putdec
    PRINT   "\n"
    CHECK   "other transports are empty (DeviceID 0)", x21, 1

    // ---- reset and feature negotiation (spec 3.1.1)
    str     wzr, [x19, #V_STATUS]
    ldr     w1, [x19, #V_STATUS]
    CHECK   "Status 0 after reset", x1, 0
    mov     w1, #ST_ACK
    str     w1, [x19, #V_STATUS]
    mov     w1, #(ST_ACK | ST_DRIVER)
    str     w1, [x19, #V_STATUS]
    mov     w1, #1
    str     w1, [x19, #V_DEV_FEAT_SEL]
    ldr     w1, [x19, #V_DEV_FEAT]
    CHECKM  "DeviceFeatures offers VIRTIO_F_VERSION_1", x1, 1, 1
    str     wzr, [x19, #V_DRV_FEAT_SEL]
    str     wzr, [x19, #V_DRV_FEAT]
    mov     w1, #1
    str     w1, [x19, #V_DRV_FEAT_SEL]
    str     w1, [x19, #V_DRV_FEAT]      // VIRTIO_F_VERSION_1 only
    mov     w1, #(ST_ACK | ST_DRIVER | ST_FEATURES_OK)
    str     w1, [x19, #V_STATUS]
    ldr     w1, [x19, #V_STATUS]
    CHECKM  "FEATURES_OK accepted", x1, ST_FEATURES_OK, ST_FEATURES_OK

    // ---- transmitq (queue 1) of port 0 (spec 5.3.2)
    mov     w1, #1
    str     w1, [x19, #V_QUEUE_SEL]
    ldr     w1, [x19, #V_QUEUE_READY]
    CHECK   "QueueReady 0 before setup", x1, 0
    ldr     w1, [x19, #V_QUEUE_NUM_MAX]
    cmp     w1, #QSIZE
    EXPECT  hs, "QueueNumMax >= 8"
    mov     w1, #QSIZE
    str     w1, [x19, #V_QUEUE_NUM]
    ldr     x1, =vq_desc
    str     w1, [x19, #V_DESC_LO]
    lsr     x1, x1, #32
    str     w1, [x19, #V_DESC_HI]
    ldr     x1, =vq_avail
    str     w1, [x19, #V_DRIVER_LO]
    lsr     x1, x1, #32
    str     w1, [x19, #V_DRIVER_HI]
    ldr     x1, =vq_used
    str     w1, [x19, #V_DEVICE_LO]
    lsr     x1, x1, #32
    str     w1, [x19, #V_DEVICE_HI]
    mov     w1, #1
    str     w1, [x19, #V_QUEUE_READY]
    ldr     w1, [x19, #V_QUEUE_READY]
    CHECK   "QueueReady 1 after setup", x1, 1
    mov     w1, #(ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK)
    str     w1, [x19, #V_STATUS]
    ldr     w1, [x19, #V_STATUS]
    CHECK   "Status DRIVER_OK", x1, 0xf

    // ---- one buffer: descriptor 0 = the message (spec 2.7.5, 2.7.6)
    ldr     x9, =vq_desc
    ldr     x1, =msg1
    str     x1, [x9, #0]                // addr
    mov     w1, #MSG1_LEN
    str     w1, [x9, #8]                // len
    strh    wzr, [x9, #12]              // flags: device-readable, last
    strh    wzr, [x9, #14]
    ldr     x9, =vq_avail
    strh    wzr, [x9, #4]               // ring[0] = head 0
    dmb     sy
    mov     w1, #1
    strh    w1, [x9, #2]                // idx = 1
    dsb     sy
    mov     w1, #1
    str     w1, [x19, #V_QUEUE_NOTIFY]  // notify queue 1
    bl      wait_used1
    CHECK   "used.idx 1 after notify", x0, 1
    ldr     x9, =vq_used
    ldr     w1, [x9, #4]
    CHECK   "used.ring[0].id = head 0", x1, 0
    ldr     w1, [x9, #8]
    CHECK   "used.ring[0].len = 0 (nothing written)", x1, 0

    // ---- the interrupt: status, GIC pending bit of INTID 32 + 16 + n, ACK
    ldr     w1, [x19, #V_INT_STATUS]
    CHECKM  "InterruptStatus used-buffer bit", x1, 1, 1
    add     x2, x20, #48                // INTID
    lsr     x3, x2, #5
    ldr     x4, =(GICD_BASE + 0x200)    // GICD_ISPENDR<n>
    ldr     w5, [x4, x3, lsl #2]
    and     x2, x2, #31
    lsr     w5, w5, w2
    CHECKM  "GICD_ISPENDR shows the transport's SPI pending", x5, 1, 1
    mov     w1, #1
    str     w1, [x19, #V_INT_ACK]
    ldr     w1, [x19, #V_INT_STATUS]
    CHECK   "InterruptACK clears InterruptStatus", x1, 0

    // ---- a chained buffer: descriptors 2 -> 3
    ldr     x9, =vq_desc
    ldr     x1, =msg2
    str     x1, [x9, #32]
    mov     w1, #7
    str     w1, [x9, #40]
    mov     w1, #DESC_F_NEXT
    strh    w1, [x9, #44]
    mov     w1, #3
    strh    w1, [x9, #46]
    ldr     x1, =(msg2 + 7)
    str     x1, [x9, #48]
    mov     w1, #MSG2_TAIL
    str     w1, [x9, #56]
    strh    wzr, [x9, #60]
    ldr     x9, =vq_avail
    mov     w1, #2
    strh    w1, [x9, #6]                // ring[1] = head 2
    dmb     sy
    strh    w1, [x9, #2]                // idx = 2
    dsb     sy
    mov     w1, #1
    str     w1, [x19, #V_QUEUE_NOTIFY]
    bl      wait_used2
    CHECK   "used.idx 2 after a chained buffer", x0, 2
    ldr     x9, =vq_used
    ldr     w1, [x9, #12]
    CHECK   "used.ring[1].id = head 2", x1, 2
    mov     w1, #1
    str     w1, [x19, #V_INT_ACK]

    // leave the device reset
    str     wzr, [x19, #V_STATUS]
99: ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* wait_used1/2: x0 = used.idx once it reaches 1 (2), or after 100000 polls. */
wait_used1:
    mov     x1, #1
    b       1f
wait_used2:
    mov     x1, #2
1:  ldr     x9, =vq_used
    ldr     x2, =100000
2:  ldrh    w0, [x9, #2]
    cmp     x0, x1
    b.eq    3f
    subs    x2, x2, #1
    b.ne    2b
3:  ret


    .bss
    .balign 4096
vq_desc:    .skip 16 * QSIZE
    .balign 64
vq_avail:   .skip 6 + 2 * QSIZE
    .balign 64
vq_used:    .skip 6 + 8 * QSIZE
