// The benchmark programs of bench/programs.scm written in C: compiled to wasm by the project's
// toolchain at -O2 and run in the same wasmtime engine, they are the practical limit for code
// generated into wasm.  Lists are malloc'd cells freed after each round, as a collector would.
#include <stdint.h>
#include <stdlib.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static int64_t fib_(int64_t n) { return n < 2 ? n : fib_(n - 1) + fib_(n - 2); }
EXPORT(fib) int64_t fib(int64_t n) { return fib_(n); }

// The seed's fib (bench/seed.scm): 1 at n < 2, the same calls as fib.
static int64_t seed_fib_(int64_t n) { return n < 2 ? 1 : seed_fib_(n - 1) + seed_fib_(n - 2); }
EXPORT(seed_fib) int64_t seed_fib(int64_t n) { return seed_fib_(n); }

static int64_t tak_(int64_t x, int64_t y, int64_t z) {
  return !(y < x) ? z : tak_(tak_(x - 1, y, z), tak_(y - 1, z, x), tak_(z - 1, x, y));
}
EXPORT(tak) int64_t tak(int64_t x, int64_t y, int64_t z) { return tak_(x, y, z); }

EXPORT(sum_to) int64_t sum_to(int64_t n) {
  int64_t acc = 0;
  for (int64_t i = n; i > 0; i--) {
    acc += i;
    // Keep the loop a loop: without this clang replaces it by n(n+1)/2, which is not the
    // algorithm the Scheme version runs.
    __asm__ volatile("" : "+r"(acc));
  }
  return acc;
}

typedef struct Cell { int64_t car; struct Cell *cdr; } Cell;

static Cell *cons(int64_t car, Cell *cdr) {
  Cell *c = malloc(sizeof *c);
  c->car = car;
  c->cdr = cdr;
  return c;
}
static void free_list(Cell *l) {
  while (l) { Cell *next = l->cdr; free(l); l = next; }
}
static Cell *build(int64_t n) {
  Cell *acc = 0;
  for (; n > 0; n--) acc = cons(n, acc);
  return acc;
}
static Cell *rev(Cell *l) {
  Cell *acc = 0;
  for (; l; l = l->cdr) acc = cons(l->car, acc);
  return acc;
}
static int64_t sum(Cell *l) {
  int64_t acc = 0;
  for (; l; l = l->cdr) acc += l->car;
  return acc;
}

EXPORT(list_work) int64_t list_work(int64_t n, int64_t times) {
  int64_t total = 0;
  for (int64_t k = times; k > 0; k--) {
    Cell *a = build(n), *b = rev(a);
    total += sum(b);
    free_list(a);
    free_list(b);
  }
  return total;
}

typedef struct Closure { int64_t (*fn)(struct Closure *, int64_t, int64_t); int64_t k; } Closure;

static int64_t add(Closure *self, int64_t a, int64_t x) { (void)self; return a + x; }
static int64_t scale(Closure *self, int64_t x, int64_t unused) { (void)unused; return x * self->k; }

static Cell *map1(Closure *f, Cell *l) {
  Cell *acc = 0;
  for (; l; l = l->cdr) acc = cons(f->fn(f, l->car, 0), acc);
  Cell *r = rev(acc);
  free_list(acc);
  return r;
}
static int64_t fold(Closure *f, int64_t acc, Cell *l) {
  for (; l; l = l->cdr) acc = f->fn(f, acc, l->car);
  return acc;
}

EXPORT(closure_work) int64_t closure_work(int64_t n, int64_t times) {
  Cell *l = build(n);
  int64_t total = 0;
  for (int64_t k = times; k > 0; k--) {
    Closure sc = {scale, k}, ad = {add, 0};
    Cell *m = map1(&sc, l);
    total += fold(&ad, 0, m);
    free_list(m);
  }
  free_list(l);
  return total;
}

// --- The allocating kernels: a bump arena emptied after each call, the cheapest allocation C
// has (the honest floor for a collector's), in 1 MiB blocks kept for the next call.
typedef struct Block { struct Block *next; char *top, *end; char data[]; } Block;
static Block *blocks, *current;
static void *bump(size_t n) {
  n = (n + 7) & ~(size_t)7;
  if (!current || current->top + n > current->end) {
    Block *b = current && current->next ? current->next : 0;
    if (!b) {
      b = malloc(sizeof *b + (1 << 20));
      b->next = 0;
      b->end = b->data + (1 << 20);
      if (current) current->next = b; else blocks = b;
    }
    b->top = b->data;
    current = b;
  }
  void *p = current->top;
  current->top += n;
  return p;
}
static void arena_reset(void) {
  current = blocks;
  if (current) current->top = current->data;
}
static Cell *acons(int64_t car, Cell *cdr) {
  Cell *c = bump(sizeof *c);
  c->car = car;
  c->cdr = cdr;
  return c;
}

// cpstak: tak in continuation-passing style, each continuation a closure record.
typedef struct K { int64_t (*fn)(struct K *, int64_t); int64_t x, y, z, v1, v2; struct K *k; } K;
static int64_t cps(int64_t x, int64_t y, int64_t z, K *k);
static int64_t k_id(K *self, int64_t a) { (void)self; return a; }
static int64_t k3(K *self, int64_t v3) { return cps(self->v1, self->v2, v3, self->k); }
static int64_t k2(K *self, int64_t v2) {
  K *c = bump(sizeof *c);
  *c = (K){k3, 0, 0, 0, self->v1, v2, self->k};
  return cps(self->z - 1, self->x, self->y, c);
}
static int64_t k1(K *self, int64_t v1) {
  K *c = bump(sizeof *c);
  *c = (K){k2, self->x, self->y, self->z, v1, 0, self->k};
  return cps(self->y - 1, self->z, self->x, c);
}
static int64_t cps(int64_t x, int64_t y, int64_t z, K *k) {
  if (!(y < x)) return k->fn(k, z);
  K *c = bump(sizeof *c);
  *c = (K){k1, x, y, z, 0, 0, k};
  return cps(x - 1, y, z, c);
}
EXPORT(cpstak) int64_t cpstak(int64_t x, int64_t y, int64_t z) {
  K id = {k_id, 0, 0, 0, 0, 0, 0};
  int64_t r = cps(x, y, z, &id);
  arena_reset();
  return r;
}

// takl: tak on list lengths.
static Cell *listn(int64_t n) { return n == 0 ? 0 : acons(n, listn(n - 1)); }
static int shorter(Cell *x, Cell *y) { return y && (!x || shorter(x->cdr, y->cdr)); }
static Cell *mas(Cell *x, Cell *y, Cell *z) {
  return !shorter(y, x) ? z : mas(mas(x->cdr, y, z), mas(y->cdr, z, x), mas(z->cdr, x, y));
}
EXPORT(takl) int64_t takl(int64_t a, int64_t b, int64_t c) {
  int64_t n = 0;
  for (Cell *l = mas(listn(a), listn(b), listn(c)); l; l = l->cdr) n++;
  arena_reset();
  return n;
}

// nqueens: the same search over lists of rows left and rows tried.
static Cell *append(Cell *a, Cell *b) { return a ? acons(a->car, append(a->cdr, b)) : b; }
static int safe(int64_t row, int64_t dist, Cell *placed) {
  return !placed || (placed->car != row + dist && placed->car != row - dist &&
                     safe(row, dist + 1, placed->cdr));
}
static int64_t try_(Cell *left, Cell *tried, Cell *placed) {
  if (!left) return tried ? 0 : 1;
  return (safe(left->car, 1, placed)
              ? try_(append(left->cdr, tried), 0, acons(left->car, placed))
              : 0) +
         try_(left->cdr, acons(left->car, tried), placed);
}
EXPORT(nqueens) int64_t nqueens(int64_t n) {
  Cell *rows = 0;
  for (int64_t k = n; k > 0; k--) rows = acons(k, rows);
  int64_t r = try_(rows, 0, 0);
  arena_reset();
  return r;
}

// primes: a sieve that copies the list without each prime's multiples.
static Cell *interval(int64_t m, int64_t n) { return m > n ? 0 : acons(m, interval(m + 1, n)); }
static Cell *remove_multiples(int64_t p, Cell *l) {
  if (!l) return 0;
  if (l->car % p == 0) return remove_multiples(p, l->cdr);
  return acons(l->car, remove_multiples(p, l->cdr));
}
static Cell *sieve(Cell *l) { return l ? acons(l->car, sieve(remove_multiples(l->car, l->cdr))) : 0; }
EXPORT(primes) int64_t primes(int64_t n) {
  int64_t count = 0;
  for (Cell *l = sieve(interval(2, n)); l; l = l->cdr) count++;
  arena_reset();
  return count;
}
