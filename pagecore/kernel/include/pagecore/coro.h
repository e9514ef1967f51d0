/*
 * pagecore/kernel/include/pagecore/coro.h: coroutines on the calling thread.
 *
 * Two users.  The explorer (explore_sched.h) runs a scenario's tasks as
 * coroutines so that exactly one runs at a time and it decides which.  The
 * timed loops run each queued waiter as one: the waiter's own
 * wait_on_page_writeback() or lock_page(), the variant's code, queues its
 * entry on its own stack and gets as far as io_schedule(), which hands the
 * CPU back (pagecore_coro_sleep() in mm.h) instead of sleeping; the loop
 * then times the waker, and resumes the waiter afterwards, outside the
 * timed region, to let it return as a woken waiter does.  So the waiter the
 * waker finds is whatever the variant's wait code left, not a copy of it.
 */
#ifndef PAGECORE_CORO_H
#define PAGECORE_CORO_H

#include <stdint.h>
#include <stdlib.h>
#include <ucontext.h>

/*
 * Switching tasks.  On x86-64 a task switch is a hand-written save of the
 * callee-saved registers and the stack pointer, as the kernel's own
 * __switch_to_asm does: glibc's swapcontext() also saves the signal mask,
 * a system call on every switch, which made it the explorer's main cost.
 * Elsewhere ucontext does the job.
 */
#if defined(__x86_64__)
#define PC_CORO_FAST_SWITCH 1
typedef struct { void *sp; } pc_coro_ctx;
void pc_coro_switch(pc_coro_ctx *from, pc_coro_ctx *to) __attribute__((visibility("hidden")));
__asm__(".text\n"
        ".p2align 4\n"
        ".hidden pc_coro_switch\n"
        ".type pc_coro_switch,@function\n"
        "pc_coro_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq (%rsi), %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size pc_coro_switch, .-pc_coro_switch\n");
#define PC_CORO_SWAP(from, to) pc_coro_switch((from), (to))
#else
#define PC_CORO_FAST_SWITCH 0
typedef ucontext_t pc_coro_ctx;
#define PC_CORO_SWAP(from, to) swapcontext((from), (to))
#endif


/* A task switch under AddressSanitizer: frames abandoned on a reused stack
   keep their redzones poisoned, so a stack is unpoisoned whenever a task
   starts on it afresh. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define pc_coro_stack_fresh(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define pc_coro_stack_fresh(p, n) ((void)0)
#endif

struct pc_coro {
    pc_coro_ctx ctx;            /* the coroutine's, while it is switched out */
    pc_coro_ctx parent;         /* who resumed it, while it runs */
    void (*fn)(void *);
    void *arg;
    char *stack;
    size_t size;
    int done;
};

/* the coroutine a thread is starting (threads run coroutines of their own) */
static __thread struct pc_coro *pc_coro_starting;

static void pc_coro_entry(void)
{
    struct pc_coro *c = pc_coro_starting;

    c->fn(c->arg);
    c->done = 1;
    PC_CORO_SWAP(&c->ctx, &c->parent);
    abort();                    /* never resumed once done */
}

/* Ready @c to run fn(arg) on @stack of @size bytes, whose top lies @skew bytes
   below its end (so that the stacks of many coroutines do not put their
   frames in one cache set); the first pc_coro_resume() starts it. */
static void pc_coro_init(struct pc_coro *c, char *stack, size_t size, size_t skew,
                         void (*fn)(void *), void *arg)
{
    c->fn = fn;
    c->arg = arg;
    c->stack = stack;
    c->size = size;
    c->done = 0;
    pc_coro_stack_fresh(stack, size);
#if PC_CORO_FAST_SWITCH
    {
        /* the frame pc_coro_switch pops: six registers, then the return
           address; the entry sees a stack aligned as after a call */
        uintptr_t *sp = (uintptr_t *)(((uintptr_t)stack + size - skew) & ~(uintptr_t)15);
        int k;
        *--sp = 0;
        *--sp = (uintptr_t)pc_coro_entry;
        for (k = 0; k < 6; k++)
            *--sp = 0;
        c->ctx.sp = sp;
    }
#else
    (void)skew;
    getcontext(&c->ctx);
    c->ctx.uc_stack.ss_sp = stack;
    c->ctx.uc_stack.ss_size = size;
    c->ctx.uc_link = NULL;
    makecontext(&c->ctx, pc_coro_entry, 0);
#endif
}

/* Run @c until it yields or finishes. */
static inline void pc_coro_resume(struct pc_coro *c)
{
    pc_coro_starting = c;
    PC_CORO_SWAP(&c->parent, &c->ctx);
}

/* From inside @c: hand the CPU back to whoever resumed it. */
static inline void pc_coro_yield(struct pc_coro *c)
{
    PC_CORO_SWAP(&c->ctx, &c->parent);
}

#endif /* PAGECORE_CORO_H */
