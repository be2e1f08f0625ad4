/*
 * psci_smp.S -- PSCI CPU power management and SMP shared memory; run with
 * `-smp 4` (QEMU: qemu-system-aarch64 -M virt,gic-version=3 -cpu max -smp 4).
 *
 * References: Arm DEN0022 "Power State Coordination Interface" (PSCI 1.x),
 * chapter 5 "Functions": PSCI_VERSION, CPU_OFF, CPU_ON (entry at the
 * caller's EL, MMU off, x0 = context_id), AFFINITY_INFO (0 ON, 1 OFF,
 * 2 ON_PENDING), MIGRATE_INFO_TYPE, PSCI_FEATURES, return codes; SMC Calling
 * Convention (DEN0028), HVC conduit; Arm ARM B2.9 "Synchronization and
 * semaphores" (LDXR/STXR, LDAXR/STLXR), C6.2 LDADD (FEAT_LSE), D17.2
 * MPIDR_EL1.
 *
 * The boot CPU (and each secondary) runs with the lib/mmu.S identity map so
 * that shared data is Normal memory.  Checks (all printed by the boot CPU,
 * in a fixed order, after waiting for the secondaries through memory):
 *   - PSCI_VERSION >= 1.0; PSCI_FEATURES(CPU_ON/CPU_OFF/AFFINITY_INFO/
 *     SYSTEM_OFF) = 0, PSCI_FEATURES(an unknown id) = NOT_SUPPORTED (-1);
 *     MIGRATE_INFO_TYPE = 2 (no Trusted OS migration needed)
 *   - AFFINITY_INFO(cpu 1) = OFF before CPU_ON
 *   - CPU_ON(cpu 1..3, secondary_entry, context 0xc0de0000+n) = SUCCESS
 *   - each secondary reports: x0 = its context id, MPIDR_EL1.Aff0 = n,
 *     CurrentEL = EL1, SCTLR_EL1.M = 0 at entry
 *   - 4 CPUs x 10000 LDAXR/STLXR increments of one counter = 40000, and
 *     4 x 10000 LDADD increments of another = 40000 (if FEAT_LSE)
 *   - AFFINITY_INFO(1..3) = ON; CPU_ON of an on CPU (1 and the caller 0) =
 *     ALREADY_ON (-4)
 *   - after the release flag the secondaries call CPU_OFF:
 *     AFFINITY_INFO(1..3) becomes OFF
 *   - CPU_ON(cpu 2) again after CPU_OFF = SUCCESS, it reports its new context
 *     id, then is OFF again
 *   - CPU_ON / AFFINITY_INFO with a non-existent MPIDR (0xff) =
 *     INVALID_PARAMETERS (-2)
 */
#include "lib/guest.h"

#define NSEC        3               /* secondaries: CPUs 1..3 */
#define CTX         0xc0de0000
#define INCS        10000
#define SPIN        200000000       /* poll bound (never reached normally) */
#define SLOT        32              /* per-CPU record: ctx, aff0, el, sctlr */

    .text
    .global main
main:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    bl      mmu_identity_build
    bl      mmu_identity_enable

    // ------------------------------------------------------------ discovery
    PSCI    PSCI_VERSION
    lsr     x1, x0, #16
    cmp     x1, #1
    EXPECT  hs, "PSCI_VERSION >= 1.0"
    ldr     x1, =PSCI_CPU_ON64
    PSCI    PSCI_FEATURES
    CHECK   "PSCI_FEATURES(CPU_ON) = 0", x0, 0
    ldr     x1, =PSCI_CPU_OFF
    PSCI    PSCI_FEATURES
    CHECK   "PSCI_FEATURES(CPU_OFF) = 0", x0, 0
    ldr     x1, =PSCI_AFFINITY_INFO64
    PSCI    PSCI_FEATURES
    CHECK   "PSCI_FEATURES(AFFINITY_INFO) = 0", x0, 0
    ldr     x1, =PSCI_SYSTEM_OFF
    PSCI    PSCI_FEATURES
    CHECK   "PSCI_FEATURES(SYSTEM_OFF) = 0", x0, 0
    ldr     x1, =0x840000ff
    PSCI    PSCI_FEATURES
    CHECK   "PSCI_FEATURES(unknown id) = NOT_SUPPORTED", x0, -1
    PSCI    PSCI_MIGRATE_INFO_TYPE
    CHECK   "MIGRATE_INFO_TYPE = 2", x0, 2

    mov     x1, #1
    mov     x2, #0
    PSCI    PSCI_AFFINITY_INFO64
    CHECK   "AFFINITY_INFO(cpu 1) = OFF before CPU_ON", x0, 1

    // ------------------------------------------------------------ CPU_ON 1..3
    mov     x19, #1
    mov     x20, #0                 // OR of the return values
1:  mov     x1, x19
    adr     x2, secondary_entry
    ldr     x3, =CTX
    add     x3, x3, x19
    PSCI    PSCI_CPU_ON64
    orr     x20, x20, x0
    add     x19, x19, #1
    cmp     x19, #NSEC
    b.ls    1b
    CHECK   "CPU_ON(cpu 1..3) = SUCCESS", x20, 0

    ldr     x0, =arrived
    mov     x1, #NSEC
    bl      wait_count
    CHECK   "all secondaries reported in", x0, NSEC

    // per-CPU records
    ldr     x19, =slots
    mov     x20, #1
2:  add     x1, x19, x20, lsl #5
    ldr     x2, [x1, #0]
    ldr     x3, =CTX
    add     x3, x3, x20
    cmp     x2, x3
    b.ne    3f
    ldr     x2, [x1, #8]
    cmp     x2, x20
    b.ne    3f
    ldr     x2, [x1, #16]
    cmp     x2, #(1 << 2)
    b.ne    3f
    ldr     x2, [x1, #24]
    tbnz    x2, #0, 3f
    add     x20, x20, #1
    cmp     x20, #NSEC
    b.ls    2b
3:  cmp     x20, #(NSEC + 1)
    EXPECT  eq, "secondaries: x0 = context id, Aff0 = n, EL1, MMU off"

    // ------------------------------------------------------------ shared counters
    ldr     x0, =go
    mov     x1, #1
    stlr    x1, [x0]
    bl      do_increments
    ldr     x0, =finished
    mov     x1, #NSEC
    bl      wait_count
    ldr     x0, =counter_x
    ldr     x1, [x0]
    CHECK   "LDAXR/STLXR counter: 4 CPUs x 10000 = 40000", x1, 4 * INCS
    bl      have_lse
    cbz     x0, 4f
    ldr     x0, =counter_lse
    ldr     x1, [x0]
    CHECK   "LDADD counter: 4 CPUs x 10000 = 40000", x1, 4 * INCS
    b       5f
4:  SKIP    "LDADD counter", "no FEAT_LSE"
5:

    // ------------------------------------------------------------ ON state
    mov     x19, #1
    mov     x20, #0
1:  mov     x1, x19
    mov     x2, #0
    PSCI    PSCI_AFFINITY_INFO64
    orr     x20, x20, x0
    add     x19, x19, #1
    cmp     x19, #NSEC
    b.ls    1b
    CHECK   "AFFINITY_INFO(cpu 1..3) = ON", x20, 0

    mov     x1, #1
    adr     x2, secondary_entry
    mov     x3, #0
    PSCI    PSCI_CPU_ON64
    CHECK   "CPU_ON(cpu 1) while on = ALREADY_ON", x0, -4
    mov     x1, #0
    adr     x2, secondary_entry
    mov     x3, #0
    PSCI    PSCI_CPU_ON64
    CHECK   "CPU_ON(cpu 0, the caller) = ALREADY_ON", x0, -4

    // ------------------------------------------------------------ CPU_OFF
    ldr     x0, =release
    mov     x1, #1
    stlr    x1, [x0]
    mov     x19, #1
    mov     x20, #0
1:  mov     x0, x19
    bl      wait_off
    cmp     x0, #1
    cinc    x20, x20, eq            // count the CPUs that are OFF
    add     x19, x19, #1
    cmp     x19, #NSEC
    b.ls    1b
    CHECK   "AFFINITY_INFO(cpu 1..3) = OFF after CPU_OFF", x20, NSEC

    // ------------------------------------------------------------ CPU_ON again
    mov     x1, #2
    adr     x2, secondary_entry
    ldr     x3, =(CTX + 0x102)
    PSCI    PSCI_CPU_ON64
    CHECK   "CPU_ON(cpu 2) after CPU_OFF = SUCCESS", x0, 0
    ldr     x0, =arrived
    mov     x1, #(NSEC + 1)
    bl      wait_count
    CHECK   "cpu 2 reported in again", x0, NSEC + 1
    ldr     x1, =slots + 2 * SLOT
    ldr     x1, [x1]
    CHECK   "cpu 2 got the new context id", x1, CTX + 0x102
    mov     x0, #2
    bl      wait_off
    CHECK   "cpu 2 OFF again", x0, 1

    // ------------------------------------------------------------ bad MPIDR
    mov     x1, #0xff
    adr     x2, secondary_entry
    mov     x3, #0
    PSCI    PSCI_CPU_ON64
    CHECK   "CPU_ON(mpidr 0xff) = INVALID_PARAMETERS", x0, -2
    mov     x1, #0xff
    mov     x2, #0
    PSCI    PSCI_AFFINITY_INFO64
    CHECK   "AFFINITY_INFO(mpidr 0xff) = INVALID_PARAMETERS", x0, -2

    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* wait_count: x0 = counter address, x1 = target.  Polls (LDAR) until
 * *x0 >= x1 or SPIN polls.  Returns x0 = last value.  Clobbers x2-x4. */
wait_count:
    ldr     x3, =SPIN
1:  ldar    x2, [x0]
    cmp     x2, x1
    b.hs    2f
    subs    x3, x3, #1
    b.ne    1b
2:  mov     x0, x2
    ret

/* wait_off: x0 = cpu.  Polls AFFINITY_INFO until OFF (1) or SPIN/64 polls.
 * Returns x0 = last AFFINITY_INFO result.  Clobbers x0-x5. */
wait_off:
    mov     x4, x0
    ldr     x5, =(SPIN / 64)
1:  mov     x1, x4
    mov     x2, #0
    PSCI    PSCI_AFFINITY_INFO64
    cmp     x0, #1
    b.eq    2f
    subs    x5, x5, #1
    b.ne    1b
2:  ret

/* have_lse: x0 = 1 if ID_AA64ISAR0_EL1.Atomic >= 2 (FEAT_LSE). */
have_lse:
    mrs     x0, id_aa64isar0_el1
    ubfx    x0, x0, #20, #4
    cmp     x0, #2
    cset    x0, hs
    ret

/* do_increments: INCS exclusive increments of counter_x and (with LSE)
 * INCS LDADD increments of counter_lse.  Clobbers x0-x5. */
do_increments:
    mov     x5, x30
    ldr     x0, =counter_x
    ldr     x1, =INCS
1:  ldaxr   x2, [x0]
    add     x2, x2, #1
    stlxr   w3, x2, [x0]
    cbnz    w3, 1b
    subs    x1, x1, #1
    b.ne    1b
    bl      have_lse
    cbz     x0, 3f
    ldr     x0, =counter_lse
    ldr     x1, =INCS
    mov     x2, #1
2:  ldadd   x2, x3, [x0]
    subs    x1, x1, #1
    b.ne    2b
3:  ret     x5

/* ------------------------------------------------------------ secondaries */
/* PSCI CPU_ON entry: EL1, MMU off, x0 = context id. */
secondary_entry:
    msr     daifset, #0xf
    mov     x19, x0
    mrs     x21, sctlr_el1
    mrs     x20, mpidr_el1
    and     x20, x20, #0xff
    msr     spsel, #1
    ldr     x1, =sec_stacks
    add     x1, x1, x20, lsl #12
    add     sp, x1, #4096
    ldr     x1, =vector_table
    msr     vbar_el1, x1
    isb
    bl      mmu_identity_enable
    ldr     x1, =slots
    add     x1, x1, x20, lsl #5
    mrs     x2, CurrentEL
    stp     x19, x20, [x1, #0]
    stp     x2, x21, [x1, #16]
    ldr     x0, =arrived
1:  ldaxr   x2, [x0]
    add     x2, x2, #1
    stlxr   w3, x2, [x0]
    cbnz    w3, 1b
    ldr     x0, =release            // restarted after CPU_OFF: just go off
    ldar    x1, [x0]
    cbnz    x1, 4f
    ldr     x0, =go
2:  ldar    x1, [x0]
    cbz     x1, 2b
    bl      do_increments
    ldr     x0, =finished
6:  ldaxr   x2, [x0]
    add     x2, x2, #1
    stlxr   w3, x2, [x0]
    cbnz    w3, 6b
    ldr     x0, =release
3:  ldar    x1, [x0]
    cbz     x1, 3b
4:  dsb     sy
    PSCI    PSCI_CPU_OFF
5:  wfe                             // CPU_OFF returned: should not happen
    b       5b

    .ltorg

    .bss
    .balign 64
arrived:    .skip 64                // separate 64-byte lines for the flags
finished:   .skip 64
go:         .skip 64
release:    .skip 64
counter_x:  .skip 64
counter_lse:.skip 64
slots:      .skip SLOT * 4
    .balign 4096
sec_stacks: .skip 4096 * 4
