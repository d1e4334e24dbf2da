// Ports: the console's output, string ports, input files (read whole when opened) and output
// files (written through at each write: the file on disk is what the program wrote so far).
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

// ---------------------------------------------------------------------------------------------
// A port is a T_PORT object: slot[0] its PortFlags (a fixnum), slot[1] a string, slot[2] a
// fixnum.  An input port reads slot[1] from position slot[2]; a string output port fills
// slot[1] (its capacity) up to slot[2]; a file output port writes to the descriptor slot[2]
// at offset slot[3]; the console's output goes to `output`.

enum PortFlags : int64_t {
  PORT_INPUT = 1, PORT_OUTPUT = 2, PORT_CONSOLE = 4, PORT_CLOSED = 8, PORT_FILE = 16
};

static inline int64_t portFlags(Value p) { return fixVal(obj(p)->slot[0]); }

static Value makePort(int64_t flags, Value text, int64_t at) {
  Root t(text);
  Obj *o = allocate(T_PORT, 5);
  o->slot[0] = mkFix(flags);
  o->slot[1] = t.get();
  o->slot[2] = mkFix(at);
  o->slot[3] = mkFix(0);
  return tagged(o);
}

// The console's output port, and an empty input port for the current input until a program
// sets one (there is no terminal input): made once, kept as roots.
static Value consoleOut() {
  static Value port = FALSE_V;
  if (port == FALSE_V) {
    port = makePort(PORT_OUTPUT | PORT_CONSOLE, FALSE_V, 0);
    permanentRoots.push_back(port);
  }
  return port;
}

static Value currentOutput() {
  return currentOutputPort == FALSE_V ? consoleOut() : currentOutputPort;
}

static Value currentInput() {
  if (currentInputPort == FALSE_V) currentInputPort = makePort(PORT_INPUT, makeString("", 0), 0);
  return currentInputPort;
}

static Value portArg(const Node *site, int id, Value *args, int n, int k, int64_t direction) {
  if (n <= k) return direction == PORT_INPUT ? currentInput() : currentOutput();
  Value p = args[k];
  if (!isType(p, T_PORT) || !(portFlags(p) & direction))
    typeError(site, primInfo[id].name, direction == PORT_INPUT ? "an input port" : "an output port", p);
  if (portFlags(p) & PORT_CLOSED) fail(E_RANGE, site, "%s: the port is closed", primInfo[id].name);
  return p;
}

static void portWrite(const Node *site, int id, Value port, const char *data, size_t len) {
  if (portFlags(port) & PORT_CONSOLE) {
    output.append(data, len);
    if (output.size() > 4096) flushOutput();
    return;
  }
  if (portFlags(port) & PORT_FILE) {  // pwrite: a host keeps fd_write for the console
    int fd = fixVal(obj(port)->slot[2]);
    off_t at = fixVal(obj(port)->slot[3]);
    while (len > 0) {
      ssize_t put = pwrite(fd, data, len, at);
      if (put < 0) fail(E_RANGE, site, "%s: cannot write: %s", primInfo[id].name, strerror(errno));
      data += put;
      len -= put;
      at += put;
    }
    obj(port)->slot[3] = mkFix(at);
    return;
  }
  Root p(port);
  size_t fill = fixVal(obj(port)->slot[2]);
  Value buf = obj(port)->slot[1];
  if (fill + len > stringLength(buf)) {  // grow by doubling: appends are amortised O(1)
    size_t cap = std::max(fill + len, 2 * stringLength(buf) + 16);
    Value bigger = newString(site, id, cap);
    memcpy(stringBytes(bigger), stringChars(obj(p.get())->slot[1]), fill);
    obj(p.get())->slot[1] = bigger;
    buf = bigger;
  }
  memcpy(stringBytes(buf) + fill, data, len);
  obj(p.get())->slot[2] = mkFix(fill + len);
}

// The next byte of an input port, or -1 at its end; `advance` consumes it.
static int portByte(Value port, bool advance) {
  Value text = obj(port)->slot[1];
  size_t at = fixVal(obj(port)->slot[2]);
  if (at >= stringLength(text)) return -1;
  if (advance) obj(port)->slot[2] = mkFix(at + 1);
  return (unsigned char)stringChars(text)[at];
}

static Value readLine(const Node *site, int id, Value port) {
  Value text = obj(port)->slot[1];
  size_t at = fixVal(obj(port)->slot[2]), len = stringLength(text);
  if (at >= len) return EOF_V;
  size_t end = at;
  while (end < len && stringChars(text)[end] != '\n') end++;
  Root p(port);
  Value line = newString(site, id, end - at);
  memcpy(stringBytes(line), stringChars(obj(p.get())->slot[1]) + at, end - at);
  obj(p.get())->slot[2] = mkFix(end < len ? end + 1 : end);
  return line;
}

// (read port): the next datum of the port's text, as quote would make it.
static Value readDatum(const Node *site, Value port) {
  Value text = obj(port)->slot[1];
  size_t at = fixVal(obj(port)->slot[2]);
  std::vector<Sx *> made;
  Reader r(stringChars(text) + at, stringLength(text) - at, site->pos.src, made);
  Sx *x = r.read();
  obj(port)->slot[2] = mkFix(at + r.i);
  Value v = EOF_V;
  if (x) {
    Compiler c;  // its scratch is free between compiles: the running form is compiled
    v = c.quoted(x);
  }
  for (Sx *m : made) delete m;
  return v;
}

// Files live in the session's directory, a WASI preopen: read-only unless the session lets
// programs write.  Why a file operation failed, from errno.
static const char *fileProblem(bool writing) {
  if (errno != ENOTCAPABLE && errno != EPERM && errno != EACCES && errno != EROFS) return strerror(errno);
  return writing ? "not permitted (a program writes files only in its own directory, and only "
                   "when the session allows it: jitscope --writable)"
                 : "not permitted (a program reads files in its own directory only)";
}

// A file name argument, as a path.
static std::string pathArg(const Node *site, int id, Value v) {
  stringArg(site, id, v);
  return std::string(stringChars(v), stringLength(v));
}

static int openFile(const Node *site, int id, const std::string &path, int how) {
  int fd = open(path.c_str(), how, 0644);
  if (fd < 0) fail(E_RANGE, site, "%s: cannot open %s: %s", primInfo[id].name, path.c_str(), fileProblem(how != O_RDONLY));
  return fd;
}

static Value openInputFile(const Node *site, int id, const std::string &path) {
  int fd = openFile(site, id, path, O_RDONLY);
  std::string data;
  char chunk[65536];
  for (;;) {
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0) {
      int err = errno;
      close(fd);
      fail(E_RANGE, site, "%s: cannot read %s: %s", primInfo[id].name, path.c_str(), strerror(err));
    }
    if (got == 0) break;
    data.append(chunk, got);
    if (data.size() > (size_t)MAX_SEQUENCE) {
      close(fd);
      fail(E_RANGE, site, "%s: %s is larger than a string can be", primInfo[id].name, path.c_str());
    }
  }
  close(fd);
  Value text = newString(site, id, data.size());
  memcpy(stringBytes(text), data.data(), data.size());
  return makePort(PORT_INPUT, text, 0);
}

static Value portPrim(int id, Value *args, int n, const Node *site) {
  const char *who = primInfo[id].name;
  switch (id) {
    case P_DISPLAY: case P_WRITE: {
      Value port = portArg(site, id, args, n, 1, PORT_OUTPUT);
      if (portFlags(port) & PORT_CONSOLE) {
        printValue(output, args[0], id == P_DISPLAY);
        if (output.size() > 4096) flushOutput();
        return UNSPEC_V;
      }
      Root p(port);
      std::string text;
      printValue(text, args[0], id == P_DISPLAY);
      portWrite(site, id, p.get(), text.data(), text.size());
      return UNSPEC_V;
    }
    case P_NEWLINE: portWrite(site, id, portArg(site, id, args, n, 0, PORT_OUTPUT), "\n", 1); return UNSPEC_V;
    case P_WRITE_CHAR: {
      std::string text;
      appendUtf8(text, charArg(site, id, args[0]));
      portWrite(site, id, portArg(site, id, args, n, 1, PORT_OUTPUT), text.data(), text.size());
      return UNSPEC_V;
    }
    case P_WRITE_STRING: {
      Value s = stringArg(site, id, args[0]);
      Root keep(s);
      Value port = portArg(site, id, args, n, 1, PORT_OUTPUT);
      portWrite(site, id, port, stringChars(keep.get()), stringLength(keep.get()));
      return UNSPEC_V;
    }
    case P_CURRENT_OUTPUT_PORT: return currentOutput();
    case P_CURRENT_INPUT_PORT: return currentInput();
    case P_SET_CURRENT_INPUT:
      portArg(site, id, args, n, 0, PORT_INPUT);
      currentInputPort = args[0];
      return UNSPEC_V;
    case P_SET_CURRENT_OUTPUT:
      portArg(site, id, args, n, 0, PORT_OUTPUT);
      currentOutputPort = args[0];
      return UNSPEC_V;
    case P_OPEN_INPUT_STRING: {  // a copy: the string may change after
      Value s = stringArg(site, id, args[0]);
      Root keep(s);
      Value text = newString(site, id, stringLength(s));
      memcpy(stringBytes(text), stringChars(keep.get()), stringLength(keep.get()));
      return makePort(PORT_INPUT, text, 0);
    }
    case P_OPEN_OUTPUT_STRING: return makePort(PORT_OUTPUT, newString(site, id, 64), 0);
    case P_GET_OUTPUT_STRING: {
      Value p = args[0];
      if (!isType(p, T_PORT) || (portFlags(p) & (PORT_OUTPUT | PORT_CONSOLE | PORT_FILE)) != PORT_OUTPUT)
        typeError(site, who, "a string output port", p);
      Root keep(p);
      size_t fill = fixVal(obj(p)->slot[2]);
      Value r = newString(site, id, fill);
      memcpy(stringBytes(r), stringChars(obj(keep.get())->slot[1]), fill);
      return r;
    }
    case P_OPEN_INPUT_FILE: return openInputFile(site, id, pathArg(site, id, args[0]));
    case P_OPEN_OUTPUT_FILE: {
      int fd = openFile(site, id, pathArg(site, id, args[0]), O_WRONLY | O_CREAT | O_TRUNC);
      return makePort(PORT_OUTPUT | PORT_FILE, FALSE_V, fd);
    }
    case P_DELETE_FILE: {
      std::string path = pathArg(site, id, args[0]);
      if (unlink(path.c_str()) != 0)
        fail(E_RANGE, site, "%s: cannot delete %s: %s", who, path.c_str(), fileProblem(true));
      return UNSPEC_V;
    }
    case P_FILE_EXISTSP: {
      std::string path = pathArg(site, id, args[0]);
      struct stat st;
      return mkBool(stat(path.c_str(), &st) == 0);
    }
    case P_CLOSE_PORT:
      if (!isType(args[0], T_PORT)) typeError(site, who, "a port", args[0]);
      if (portFlags(args[0]) & (PORT_CONSOLE | PORT_CLOSED)) return UNSPEC_V;
      if (portFlags(args[0]) & PORT_FILE) close(fixVal(obj(args[0])->slot[2]));
      obj(args[0])->slot[0] = mkFix(portFlags(args[0]) | PORT_CLOSED);
      return UNSPEC_V;
    case P_READ_CHAR: case P_PEEK_CHAR: {
      int b = portByte(portArg(site, id, args, n, 0, PORT_INPUT), id == P_READ_CHAR);
      return b < 0 ? EOF_V : mkChar(b);
    }
    case P_CHAR_READYP: portArg(site, id, args, n, 0, PORT_INPUT); return TRUE_V;
    case P_READ_LINE: return readLine(site, id, portArg(site, id, args, n, 0, PORT_INPUT));
    case P_READ: return readDatum(site, portArg(site, id, args, n, 0, PORT_INPUT));
    case P_EOF_OBJECT: return EOF_V;
    case P_EOF_OBJECTP: return mkBool(args[0] == EOF_V);
    case P_PORTP: return mkBool(isType(args[0], T_PORT));
    case P_INPUT_PORTP: return mkBool(isType(args[0], T_PORT) && (portFlags(args[0]) & PORT_INPUT));
    case P_OUTPUT_PORTP: return mkBool(isType(args[0], T_PORT) && (portFlags(args[0]) & PORT_OUTPUT));
    case P_FLUSH_OUTPUT: portArg(site, id, args, n, 0, PORT_OUTPUT); return UNSPEC_V;
  }
  return UNSPEC_V;
}
