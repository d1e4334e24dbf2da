// The heap and its collector.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

// ---------------------------------------------------------------------------------------------
// Heap: mark-sweep, non-moving.  Small objects live in 1 MiB chunks, carved by bumping and
// recycled through free lists by size, so an address that was once an object start stays an
// object start; large objects are malloc'd and tracked in a set.

static const uint32_t CHUNK_BYTES = 1 << 20, MAX_SMALL_WORDS = 64;
struct Chunk { char *start, *bump, *end; };
static std::vector<Chunk> chunks;
static Obj *freeLists[MAX_SMALL_WORDS + 1];
// Free runs longer than any size class, carved from the front when a size's list is empty.
// Only scrubHeap() makes them (by coalescing); a sweep keeps what it finds.
static Obj *freeRuns;
static std::unordered_set<uintptr_t> largeObjects;

struct HeapStats {
  uint64_t heapBytes;      // chunks + large objects
  uint64_t liveBytes;      // after the last collection
  uint64_t allocatedBytes; // since start
  uint32_t collections;
  uint32_t maxHeapBytes;
};
static HeapStats heap = {0, 0, 0, 0, 256u << 20};
static uint64_t allocSinceGC = 0, gcThreshold = 4u << 20;
static std::vector<Value> permanentRoots;  // symbols and their names
static std::vector<Value> compileRoots;    // quoted data the compile under way is building
static Value lastResult = UNSPEC_V;
static Value currentInputPort = FALSE_V;  // what read and read-char read without a port
static Value currentOutputPort = FALSE_V;  // where display and write go without one: the console's

static bool validObject(Value v) {
  uintptr_t a = (uintptr_t)obj(v);
  for (auto &c : chunks)
    if (a >= (uintptr_t)c.start && a < (uintptr_t)c.bump) return true;
  return largeObjects.count(a) > 0;
}

static std::vector<Obj *> markStack;

static inline void markValue(Value v) {
  if (!isPtr(v)) return;
  Obj *o = obj(v);
  if (o->type & MARK_BIT || o->type == T_FREE) return;
  o->type |= MARK_BIT;
  markStack.push_back(o);
}

static void traceAll() {
  while (!markStack.empty()) {
    Obj *o = markStack.back();
    markStack.pop_back();
    switch (o->type & ~MARK_BIT) {
      case T_PAIR: markValue(o->slot[0]); markValue(o->slot[1]); break;
      case T_BOX: markValue(o->slot[0]); break;
      case T_CONTINUATION: markValue(o->slot[1]); break;
      case T_VALUES: markValue(o->slot[0]); break;
      case T_PORT: markValue(o->slot[1]); break;
      case T_RECORD:
        for (uint32_t i = 0; i + 1 < o->words; i++) markValue(o->slot[i]);
        break;
      case T_CLOSURE:
        ((Func *)(uintptr_t)o->slot[0])->reached = true;  // for sweepFuncs
        for (uint32_t i = 1; i + 1 < o->words; i++) markValue(o->slot[i]);
        break;
      case T_SYMBOL: markValue(o->slot[0]); break;
      case T_VECTOR:
        for (int64_t i = 0, n = fixVal(o->slot[0]); i < n; i++) markValue(o->slot[1 + i]);
        break;
      default: break;
    }
  }
}

static void collect() {
  // Roots: the shadow stack (checked, since dead frames leave stale words behind), globals,
  // permanent roots and the last result.
  for (Value *p = stackBase; p < sp; p++)
    if (isPtr(*p) && validObject(*p)) markValue(*p);
  for (auto *g : globalList) markValue(g->value);
  for (Value v : permanentRoots) markValue(v);
  for (Value v : compileRoots) markValue(v);
  for (const auto *list : {&funcs, &toplevels})
    for (Func *f : *list)
      if (f)
        for (Value v : f->constants) markValue(v);
  markValue(lastResult);
  markValue(currentInputPort);
  markValue(currentOutputPort);
  markValue(handlerStack);
  traceAll();

  uint64_t live = 0;
  for (auto &l : freeLists) l = nullptr;
  freeRuns = nullptr;
  for (auto &c : chunks) {
    for (char *p = c.start; p < c.bump;) {
      Obj *o = (Obj *)p;
      uint32_t bytes = o->words * 8;
      if (o->type & MARK_BIT) {
        o->type &= ~MARK_BIT;
        live += bytes;
      } else {
        o->type = T_FREE;
        Obj *&list = o->words > MAX_SMALL_WORDS ? freeRuns : freeLists[o->words];
        o->slot[0] = (Value)(uintptr_t)list;
        list = o;
      }
      p += bytes;
    }
  }
  for (auto it = largeObjects.begin(); it != largeObjects.end();) {
    Obj *o = (Obj *)*it;
    if (o->type & MARK_BIT) {
      o->type &= ~MARK_BIT;
      live += o->words * 8;
      ++it;
    } else {
      heap.heapBytes -= o->words * 8;
      free(o);
      it = largeObjects.erase(it);
    }
  }
  heap.liveBytes = live;
  heap.collections++;
  allocSinceGC = 0;
  gcThreshold = live > (4u << 20) ? live : (4u << 20);
}

// Before a snapshot of linear memory (jitscope snapshot): collect, then zero what the heap
// does not use, so the copy carries live data rather than garbage.  A run of free objects that
// reaches the last chunk's bump pointer goes back to it (bump lowered, bytes zeroed); a run
// longer than any size class, the rest of another chunk included, becomes one free run; other free
// objects keep their header and free-list link and lose their contents.  Both give up "once an
// object start, always one" for the bytes they merge, so the dead part of the shadow stack,
// where stale words could point there, is zeroed too (below sp every word is a root, so
// nothing there points into free memory).  Call only between evaluations.  Returns the bytes
// zeroed.
static uint64_t scrubHeap() {
  collect();
  uint64_t zeroed = 0;
  auto release = [&](Obj *o) {  // zero all but header and link, put on its list
    uint32_t bytes = o->words * 8;
    if (bytes > 16) {
      memset(&o->slot[1], 0, bytes - 16);
      zeroed += bytes - 16;
    }
    Obj *&list = o->words > MAX_SMALL_WORDS ? freeRuns : freeLists[o->words];
    o->slot[0] = (Value)(uintptr_t)list;
    list = o;
  };
  for (auto &l : freeLists) l = nullptr;
  freeRuns = nullptr;
  for (auto &c : chunks) {
    char *tail = c.start;  // where the trailing run of free objects starts
    for (char *p = c.start; p < c.bump;) {
      Obj *o = (Obj *)p;
      p += o->words * 8;
      if (o->type != T_FREE) tail = p;
    }
    zeroed += c.end - tail;
    memset(tail, 0, c.end - tail);
    // Only the last chunk is bumped; in the others the free tail becomes a run.
    c.bump = &c == &chunks.back() || (uint64_t)(c.end - tail) <= (MAX_SMALL_WORDS + 1) * 8
                 ? tail : c.end;
    if (c.bump == c.end) {
      ((Obj *)tail)->words = (c.end - tail) / 8;  // its type is T_FREE (0): zeroed above
      release((Obj *)tail);
    }
    for (char *p = c.start; p < tail;) {
      if (((Obj *)p)->type != T_FREE) {
        p += ((Obj *)p)->words * 8;
        continue;
      }
      char *run = p;  // a run of free objects, ended by a live one (the tail is done)
      while (((Obj *)p)->type == T_FREE) p += ((Obj *)p)->words * 8;
      uint64_t words = (p - run) / 8;
      if (words > MAX_SMALL_WORDS + 1) {  // carving a size class always leaves 0 or >= 2 words
        ((Obj *)run)->words = words;
        release((Obj *)run);
      } else {
        for (char *q = run; q < p; q += ((Obj *)q)->words * 8) release((Obj *)q);
      }
    }
  }
  Value *end = stackBase + STACK_SLOTS;
  zeroed += (end - sp) * sizeof(Value);
  memset(sp, 0, (end - sp) * sizeof(Value));
  return zeroed;
}

static Obj *tryAllocSmall(uint32_t words) {
  if (Obj *o = freeLists[words]) {
    freeLists[words] = (Obj *)(uintptr_t)o->slot[0];
    return o;
  }
  if (Obj *run = freeRuns) {  // carve from the front; the rest stays free (and zeroed)
    freeRuns = (Obj *)(uintptr_t)run->slot[0];
    uint32_t left = run->words - words;  // runs exceed MAX_SMALL_WORDS + 1: 0 or >= 2 left
    if (left) {
      Obj *rest = (Obj *)((char *)run + words * 8);
      rest->type = T_FREE;
      rest->words = left;
      Obj *&list = left > MAX_SMALL_WORDS ? freeRuns : freeLists[left];
      rest->slot[0] = (Value)(uintptr_t)list;
      list = rest;
    }
    return run;
  }
  if (!chunks.empty()) {
    Chunk &c = chunks.back();
    if (c.bump + words * 8 <= c.end) {
      Obj *o = (Obj *)c.bump;
      c.bump += words * 8;
      return o;
    }
  }
  return nullptr;
}

static Pos noPos;

[[noreturn]] static void heapExhausted() {
  raise(E_HEAP, noPos, nullptr, "heap exhausted: live data exceeds the %u MiB heap limit",
        heap.maxHeapBytes >> 20);
}

static Obj *allocate(ObjType type, uint32_t words) {
  uint64_t bytes = (uint64_t)words * 8;
  if (allocSinceGC + bytes > gcThreshold) collect();
  allocSinceGC += bytes;
  heap.allocatedBytes += bytes;
  Obj *o;
  if (words <= MAX_SMALL_WORDS) {
    o = tryAllocSmall(words);
    if (!o) {
      if (heap.heapBytes + CHUNK_BYTES > heap.maxHeapBytes) {
        collect();
        o = tryAllocSmall(words);
        if (!o && heap.heapBytes + CHUNK_BYTES > heap.maxHeapBytes) heapExhausted();
      }
      if (!o) {
        char *mem = (char *)malloc(CHUNK_BYTES);
        if (!mem) heapExhausted();
        chunks.push_back({mem, mem, mem + CHUNK_BYTES});
        heap.heapBytes += CHUNK_BYTES;
        o = tryAllocSmall(words);
      }
    }
  } else {
    if (heap.heapBytes + bytes > heap.maxHeapBytes) {
      collect();
      if (heap.heapBytes + bytes > heap.maxHeapBytes) heapExhausted();
    }
    o = (Obj *)malloc(bytes);
    if (!o) heapExhausted();
    largeObjects.insert((uintptr_t)o);
    heap.heapBytes += bytes;
  }
  o->type = type;
  o->words = words;
  return o;
}

static Value cons(Value a, Value b) {
  Root ra(a), rb(b);
  Obj *o = allocate(T_PAIR, 3);
  o->slot[0] = a;
  o->slot[1] = b;
  return tagged(o);
}

static Value mkFlo(double d) {
  Obj *o = allocate(T_FLONUM, 2);
  memcpy(&o->slot[0], &d, sizeof d);
  return tagged(o);
}

static Value makeBox(Value v) {
  Root r(v);
  Obj *o = allocate(T_BOX, 2);
  o->slot[0] = v;
  return tagged(o);
}

// A string or a bytevector of len bytes (its contents to fill): slot[0] the length, the bytes
// after, NUL-terminated.
static Obj *allocateByteObject(ObjType type, size_t len) {
  Obj *o = allocate(type, 2 + (len + 8) / 8);
  o->slot[0] = len;
  ((char *)&o->slot[1])[len] = 0;
  return o;
}

static Value makeString(const char *s, size_t len) {
  Obj *o = allocateByteObject(T_STRING, len);
  memcpy(&o->slot[1], s, len);
  return tagged(o);
}
static inline const char *stringChars(Value v) { return (const char *)&obj(v)->slot[1]; }
static inline size_t stringLength(Value v) { return obj(v)->slot[0]; }

static std::unordered_map<std::string, Value> symbols;

static Value intern(const std::string &name) {
  auto it = symbols.find(name);
  if (it != symbols.end()) return it->second;
  Value str = makeString(name.data(), name.size());
  permanentRoots.push_back(str);
  Root r(str);
  Obj *o = allocate(T_SYMBOL, 2);
  o->slot[0] = str;
  Value sym = tagged(o);
  permanentRoots.push_back(sym);
  symbols[name] = sym;
  return sym;
}
static inline const char *symbolName(Value v) { return stringChars(obj(v)->slot[0]); }

// A vector of `len` elements, each `fill` (which the caller keeps rooted if it is an object).
static Value makeVector(size_t len, Value fill) {
  Obj *o = allocate(T_VECTOR, 2 + len);
  o->slot[0] = mkFix(len);
  for (size_t i = 0; i < len; i++) o->slot[1 + i] = fill;
  return tagged(o);
}
static inline bool isVector(Value v) { return isType(v, T_VECTOR); }
static inline size_t vectorLength(Value v) { return fixVal(obj(v)->slot[0]); }
static inline Value *vectorItems(Value v) { return &obj(v)->slot[1]; }

static inline Func *closureFunc(Value c) { return (Func *)(uintptr_t)obj(c)->slot[0]; }
static inline Value closureFree(Value c, int i) { return obj(c)->slot[1 + i]; }
