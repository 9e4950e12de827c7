/**
 * The project's own WebAssembly routines, run in place on tfjs-backend-wasm's heap (the module
 * imports the backend's WebAssembly.Memory): the rearrangements and small products around
 * XNNPACK's kernels that plain JS does three times slower and XNNPACK does not offer.
 *
 * All pointers and sizes are float32 element indices into the heap. Convolution geometry follows
 * patches.ts: a patch is (kh, kw, c) → (kh·fw + kw)·C + c; output pixel p = (n·oh + oy)·ow + ox.
 *
 *   patchColumns   im2col, transposed: [patchSize, count] columns of output pixels first..first+count
 *   addPatchRows   col2im: adds [count, patchSize] rows back onto the image, dropping the padding
 *   maxPoolGrad    each window's dy to its first maximum (dx must be zeroed by the caller)
 *   productNT      C (+)= A · Bᵀ for A [m, k] and B [n, k], both rows contiguous in k (SIMD)
 *   productNN      C (+)= A · B for A [m, k] and B [k, n], rows contiguous (SIMD over n)
 *   transpose      [rows, cols] → [cols, rows]
 *   toPaddedPlanes NHWC image → one plane per channel, [C][N][Hp][Wp], placed at (top, left) of a
 *                  larger grid (the caller zeroes the target)
 *   columnSums     out[j] = Σ_i x[i][j] for x [rows, cols]
 *   rowVectorOp    out[i][j] = x[i][j] ∘ v[j] for ∘ in +, −, ·
 */
import { assemble, f32, f32x4, i32, v128, when, WasmFunction, type Code } from "./wasm-assembler.js";
import type { PatchGeometry } from "./patches.js";

/** The little of the WebAssembly JS API used here (lib ES2022 and @types/node 20 do not declare it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => WasmMemory;
};

const GEOMETRY = ["inH", "inW", "C", "outH", "outW", "fh", "fw", "sh", "sw", "pt", "pl"] as const;

/** Byte address of a float index. */
const bytes = (index: Code): Code => i32.shl(index, i32.const(2));

/** ceil(a / b) and floor(a / b) for b > 0 and any sign of a (i32.div_s truncates toward zero). */
function ceilDiv(a: () => Code, b: () => Code): Code {
  const positive = i32.divS(i32.sub(i32.add(a(), b()), i32.const(1)), b());
  const nonPositive = i32.sub(i32.const(0), i32.divS(i32.sub(i32.const(0), a()), b()));
  return [...positive, ...nonPositive, ...i32.gtS(a(), i32.const(0)), 0x1b];
}

function floorDiv(a: () => Code, b: () => Code): Code {
  const nonNegative = i32.divS(a(), b());
  const negative = i32.sub(i32.const(0), i32.divS(i32.sub(i32.add(i32.sub(i32.const(0), a()), b()), i32.const(1)), b()));
  return [...nonNegative, ...negative, ...i32.geS(a(), i32.const(0)), 0x1b];
}

/** target[i] = source[i] for i < len (element indices), four at a time: short runs beat memory.copy's call. */
function copyRun(f: WasmFunction, target: string, source: string, len: string, i: string): Code {
  const { get, forRange } = f;
  const at = (base: string) => bytes(i32.add(get(base), get(i)));
  return [
    ...forRange(i, i32.const(0), i32.sub(get(len), i32.const(3)), [v128.store(at(target), v128.load(at(source)))], i32.const(4)),
    ...forRange(i, get(i), get(len), [f32.store(at(target), f32.load(at(source)))]),
  ];
}

/** target[i] = 0 for i < len (element indices). */
function zeroRun(f: WasmFunction, target: string, len: string, i: string): Code {
  const { get, forRange } = f;
  const at = bytes(i32.add(get(target), get(i)));
  return [
    ...forRange(i, i32.const(0), i32.sub(get(len), i32.const(3)), [v128.store(at, v128.zero())], i32.const(4)),
    ...forRange(i, get(i), get(len), [f32.store(at, f32.const(0))]),
  ];
}

function patchColumns(): WasmFunction {
  const f = new WasmFunction("patchColumns", ["x", "cols", "first", "count", ...GEOMETRY]);
  f.locals("i32", "kh", "kw", "c", "oxLow", "oxHigh", "target", "pixel", "last", "perImage", "n", "oy", "oxStart", "len", "iy", "lo", "hi", "src", "step", "t", "end", "i", "run", "n0", "oy0", "ox0");
  const { get, set, forRange } = f;
  const g = (name: string) => () => get(name);
  // One row segment of the matrix row (kh, kw, c): output columns [oxStart, oxStart + len) of
  // output row (n, oy). Zeros before the image, the run inside it (strided by sw·C), zeros after.
  const segment: Code[] = [
    set("len", i32.minS(i32.sub(get("outW"), get("oxStart")), i32.sub(get("last"), get("pixel")))),
    set("iy", i32.sub(i32.add(i32.mul(get("oy"), get("sh")), get("kh")), get("pt"))),
    set("lo", i32.minS(i32.maxS(get("oxStart"), get("oxLow")), i32.add(get("oxStart"), get("len")))),
    set("hi", i32.maxS(get("lo"), i32.minS(i32.add(get("oxStart"), get("len")), get("oxHigh")))),
    when(i32.or(i32.ltS(get("iy"), i32.const(0)), i32.geS(get("iy"), get("inH"))), [set("hi", get("lo"))]),
    set("run", i32.sub(get("lo"), get("oxStart"))),
    zeroRun(f, "target", "run", "i"),
    set("t", i32.add(get("target"), get("run"))),
    set("run", i32.sub(get("hi"), get("lo"))),
    set("src", i32.add(get("x"), i32.add(i32.mul(i32.add(i32.mul(i32.add(i32.mul(get("n"), get("inH")), get("iy")), get("inW")), i32.sub(i32.add(i32.mul(get("lo"), get("sw")), get("kw")), get("pl"))), get("C")), get("c")))),
    when(i32.eq(get("step"), i32.const(1)), [copyRun(f, "t", "src", "run", "i")], [
      set("end", i32.add(get("t"), get("run"))),
      forRange("t", get("t"), get("end"), [f32.store(bytes(get("t")), f32.load(bytes(get("src")))), f.bump("src", get("step"))]),
    ]),
    set("t", i32.add(i32.add(get("target"), get("hi")), i32.sub(i32.const(0), get("oxStart")))),
    set("run", i32.sub(i32.add(get("oxStart"), get("len")), get("hi"))),
    zeroRun(f, "t", "run", "i"),
    f.bump("target", get("len")),
    // the next segment starts a new output row
    f.bump("pixel", get("len")),
    set("oxStart", i32.const(0)),
    f.bump("oy", i32.const(1)),
    when(i32.eq(get("oy"), get("outH")), [set("oy", i32.const(0)), f.bump("n", i32.const(1))]),
  ];
  return f.define(
    set("perImage", i32.mul(get("outH"), get("outW"))),
    set("last", i32.add(get("first"), get("count"))),
    set("step", i32.mul(get("sw"), get("C"))),
    set("n0", i32.divS(get("first"), get("perImage"))),
    set("oy0", i32.divS(i32.sub(get("first"), i32.mul(get("n0"), get("perImage"))), get("outW"))),
    set("ox0", i32.sub(i32.sub(get("first"), i32.mul(get("n0"), get("perImage"))), i32.mul(get("oy0"), get("outW")))),
    forRange("kh", i32.const(0), get("fh"), [
      forRange("kw", i32.const(0), get("fw"), [
        // output columns whose tap (kh, kw) lands inside the image: [oxLow, oxHigh)
        set("oxLow", i32.maxS(i32.const(0), ceilDiv(() => i32.sub(get("pl"), get("kw")), g("sw")))),
        set("oxHigh", i32.minS(get("outW"), i32.add(floorDiv(() => i32.sub(i32.add(i32.sub(get("inW"), i32.const(1)), get("pl")), get("kw")), g("sw")), i32.const(1)))),
        forRange("c", i32.const(0), get("C"), [
          set("target", i32.add(get("cols"), i32.mul(i32.add(i32.mul(i32.add(i32.mul(get("kh"), get("fw")), get("kw")), get("C")), get("c")), get("count")))),
          set("n", get("n0")),
          set("oy", get("oy0")),
          set("oxStart", get("ox0")),
          set("pixel", get("first")),
          [0x02, 0x40, 0x03, 0x40], // while (pixel < last) { segment }
          i32.geS(get("pixel"), get("last")),
          [0x0d, 1],
          ...segment,
          [0x0c, 0, 0x0b, 0x0b],
        ]),
      ]),
    ]),
  );
}

/** The (n, oy, ox) walk over output pixels of addPatchRows. */
function pixelWalk(f: WasmFunction, perPixel: Code[]): Code {
  const { get, set, forRange } = f;
  return [
    ...set("n", i32.divS(get("first"), i32.mul(get("outH"), get("outW")))),
    ...set("oy", i32.divS(i32.sub(get("first"), i32.mul(get("n"), i32.mul(get("outH"), get("outW")))), get("outW"))),
    ...set("ox", i32.sub(i32.sub(get("first"), i32.mul(get("n"), i32.mul(get("outH"), get("outW")))), i32.mul(get("oy"), get("outW")))),
    ...forRange("q", i32.const(0), get("count"), [
      set("iy0", i32.sub(i32.mul(get("oy"), get("sh")), get("pt"))),
      set("ix0", i32.sub(i32.mul(get("ox"), get("sw")), get("pl"))),
      // taps kw in [kwLo, kwHi) fall inside the image (both within [0, fw])
      set("kwLo", i32.minS(get("fw"), i32.maxS(i32.const(0), i32.sub(i32.const(0), get("ix0"))))),
      set("kwHi", i32.maxS(get("kwLo"), i32.minS(get("fw"), i32.sub(get("inW"), get("ix0"))))),
      ...perPixel,
      f.bump("ox", i32.const(1)),
      when(i32.eq(get("ox"), get("outW")), [set("ox", i32.const(0)), f.bump("oy", i32.const(1)), when(i32.eq(get("oy"), get("outH")), [set("oy", i32.const(0)), f.bump("n", i32.const(1))])]),
    ]),
  ];
}

/** target[i] += source[i] for i < len, four at a time (element indices). */
function addRun(f: WasmFunction, target: string, source: string, len: string, i: string): Code {
  const { get, forRange } = f;
  const at = (base: string) => bytes(i32.add(get(base), get(i)));
  return [
    ...forRange(i, i32.const(0), i32.sub(get(len), i32.const(3)), [v128.store(at(target), f32x4.add(v128.load(at(target)), v128.load(at(source))))], i32.const(4)),
    ...forRange(i, get(i), get(len), [f32.store(at(target), f32.add(f32.load(at(target)), f32.load(at(source))))]),
  ];
}

function addPatchRows(): WasmFunction {
  const f = new WasmFunction("addPatchRows", ["dx", "rows", "first", "count", ...GEOMETRY]);
  f.locals("i32", "n", "oy", "ox", "q", "iy0", "ix0", "kwLo", "kwHi", "kh", "iy", "source", "rowLen", "patch", "dst", "src", "len", "i");
  const { get, set, forRange } = f;
  return f.define(
    set("rowLen", i32.mul(get("fw"), get("C"))),
    set("patch", i32.mul(get("fh"), get("rowLen"))),
    set("source", get("rows")),
    pixelWalk(f, [
      forRange("kh", i32.const(0), get("fh"), [
        set("iy", i32.add(get("iy0"), get("kh"))),
        when(i32.and(i32.geS(get("iy"), i32.const(0)), i32.ltS(get("iy"), get("inH"))), [
          set("dst", i32.add(get("dx"), i32.mul(i32.add(i32.mul(i32.add(i32.mul(get("n"), get("inH")), get("iy")), get("inW")), i32.add(get("ix0"), get("kwLo"))), get("C")))),
          set("src", i32.add(i32.add(get("source"), i32.mul(get("kh"), get("rowLen"))), i32.mul(get("kwLo"), get("C")))),
          set("len", i32.mul(i32.sub(get("kwHi"), get("kwLo")), get("C"))),
          addRun(f, "dst", "src", "len", "i"),
        ]),
      ]),
      f.bump("source", get("patch")),
    ]),
  );
}

function maxPoolGrad(): WasmFunction {
  const f = new WasmFunction("maxPoolGrad", ["x", "dy", "dx", "N", ...GEOMETRY]);
  f.locals("i32", "n", "oy", "ox", "c", "row", "col", "rowLow", "rowHigh", "colLow", "colHigh", "dyAt", "image", "rowStride", "at", "bestAt");
  f.locals("f32", "best", "value");
  const { get, set, forRange } = f;
  return f.define(
    set("rowStride", i32.mul(get("inW"), get("C"))),
    set("dyAt", get("dy")),
    forRange("n", i32.const(0), get("N"), [
      set("image", i32.mul(i32.mul(get("n"), get("inH")), get("rowStride"))),
      forRange("oy", i32.const(0), get("outH"), [
        set("rowLow", i32.maxS(i32.const(0), i32.sub(i32.mul(get("oy"), get("sh")), get("pt")))),
        set("rowHigh", i32.minS(get("inH"), i32.add(i32.sub(i32.mul(get("oy"), get("sh")), get("pt")), get("fh")))),
        forRange("ox", i32.const(0), get("outW"), [
          set("colLow", i32.maxS(i32.const(0), i32.sub(i32.mul(get("ox"), get("sw")), get("pl")))),
          set("colHigh", i32.minS(get("inW"), i32.add(i32.sub(i32.mul(get("ox"), get("sw")), get("pl")), get("fw")))),
          forRange("c", i32.const(0), get("C"), [
            set("best", f32.const(Number.NEGATIVE_INFINITY)),
            set("bestAt", i32.const(-1)),
            forRange("row", get("rowLow"), get("rowHigh"), [
              forRange("col", get("colLow"), get("colHigh"), [
                set("at", i32.add(i32.add(i32.add(get("image"), i32.mul(get("row"), get("rowStride"))), i32.mul(get("col"), get("C"))), get("c"))),
                set("value", f32.load(bytes(i32.add(get("x"), get("at"))))),
                // strictly greater: the first maximum in row-major window order wins, as on cpu
                when(f32.gt(get("value"), get("best")), [set("best", get("value")), set("bestAt", get("at"))]),
              ]),
            ]),
            when(i32.geS(get("bestAt"), i32.const(0)), [
              f32.store(bytes(i32.add(get("dx"), get("bestAt"))), f32.add(f32.load(bytes(i32.add(get("dx"), get("bestAt")))), f32.load(bytes(i32.add(get("dyAt"), get("c")))))),
            ]),
          ]),
          f.bump("dyAt", get("C")),
        ]),
      ]),
    ]),
  );
}

/** maxPoolGrad for 2x2 windows without padding (every window whole): the four taps unrolled. */
function maxPoolGrad2x2(): WasmFunction {
  const f = new WasmFunction("maxPoolGrad2x2", ["x", "dy", "dx", "N", ...GEOMETRY]);
  f.locals("i32", "n", "oy", "ox", "c", "dyAt", "rowStride", "corner", "tap", "bestAt");
  f.locals("f32", "best", "value");
  const { get, set, forRange } = f;
  const taps: Code[] = [
    i32.const(0),
    get("C"),
    get("rowStride"),
    i32.add(get("rowStride"), get("C")),
  ];
  return f.define(
    set("rowStride", i32.mul(get("inW"), get("C"))),
    set("dyAt", get("dy")),
    forRange("n", i32.const(0), get("N"), [
      forRange("oy", i32.const(0), get("outH"), [
        forRange("ox", i32.const(0), get("outW"), [
          set("corner", i32.add(i32.mul(i32.add(i32.mul(get("n"), get("inH")), i32.mul(get("oy"), get("sh"))), get("rowStride")), i32.mul(i32.mul(get("ox"), get("sw")), get("C")))),
          forRange("c", i32.const(0), get("C"), [
            set("bestAt", i32.add(get("corner"), get("c"))),
            set("best", f32.load(bytes(i32.add(get("x"), get("bestAt"))))),
            // NaN never wins a comparison; a window of NaNs still sends dy nowhere, as on cpu
            when(f32.ne(get("best"), get("best")), [set("bestAt", i32.const(-1)), set("best", f32.const(Number.NEGATIVE_INFINITY))]),
            ...taps.slice(1).flatMap((offset) => [
              set("tap", i32.add(i32.add(get("corner"), get("c")), offset)),
              set("value", f32.load(bytes(i32.add(get("x"), get("tap"))))),
              when(f32.gt(get("value"), get("best")), [set("best", get("value")), set("bestAt", get("tap"))]),
            ]),
            when(i32.geS(get("bestAt"), i32.const(0)), [
              f32.store(bytes(i32.add(get("dx"), get("bestAt"))), f32.add(f32.load(bytes(i32.add(get("dx"), get("bestAt")))), f32.load(bytes(i32.add(get("dyAt"), get("c")))))),
            ]),
          ]),
          f.bump("dyAt", get("C")),
        ]),
      ]),
    ]),
  );
}

/** Loop while `condition` holds (checked before each pass). */
function loopWhile(condition: Code, body: Code[]): Code {
  return [0x02, 0x40, 0x03, 0x40, ...i32.eqz(condition), 0x0d, 1, ...body.flat(), 0x0c, 0, 0x0b, 0x0b];
}

/**
 * C (+)= A · Bᵀ for A [m, k] and B [n, k], rows contiguous in k: blocks of 4 (then 2, then 1)
 * rows of A by 2 (then 1) rows of B, each output a SIMD dot product summed across lanes at the end.
 */
function productNT(): WasmFunction {
  const f = new WasmFunction("productNT", ["a", "lda", "b", "ldb", "c", "ldc", "m", "n", "k", "accumulate"]);
  f.locals("i32", "i", "j", "kk", "k4", "out");
  const MAX_ROWS = 4;
  const MAX_COLS = 2;
  for (let r = 0; r < MAX_ROWS; r++) f.locals("i32", `pa${r}`);
  for (let s = 0; s < MAX_COLS; s++) f.locals("i32", `pb${s}`);
  for (let r = 0; r < MAX_ROWS; r++) for (let s = 0; s < MAX_COLS; s++) f.locals("v128", `acc${r}${s}`);
  for (let r = 0; r < MAX_ROWS; r++) f.locals("v128", `va${r}`);
  for (let s = 0; s < MAX_COLS; s++) f.locals("v128", `vb${s}`);
  f.locals("f32", "sum");
  const { get, set, forRange } = f;
  const at = (pointer: string) => i32.add(get(pointer), i32.shl(get("kk"), i32.const(2)));
  /** rows [i, i + rows) by columns [j, j + cols) of C; advances j */
  const block = (rows: number, cols: number): Code[] => {
    const rs = Array.from({ length: rows }, (_, r) => r);
    const ss = Array.from({ length: cols }, (_, s) => s);
    const finish = (r: number, s: number): Code[] => [
      set("sum", f32x4.sum(() => get(`acc${r}${s}`))),
      forRange("kk", get("k4"), get("k"), [set("sum", f32.add(get("sum"), f32.mul(f32.load(at(`pa${r}`)), f32.load(at(`pb${s}`)))))]),
      set("out", bytes(i32.add(get("c"), i32.add(i32.mul(i32.add(get("i"), i32.const(r)), get("ldc")), i32.add(get("j"), i32.const(s)))))),
      when(get("accumulate"), [set("sum", f32.add(get("sum"), f32.load(get("out"))))]),
      f32.store(get("out"), get("sum")),
    ];
    return [
      ...ss.map((s) => set(`pb${s}`, bytes(i32.add(get("b"), i32.mul(i32.add(get("j"), i32.const(s)), get("ldb")))))),
      ...rs.flatMap((r) => ss.map((s) => set(`acc${r}${s}`, v128.zero()))),
      forRange(
        "kk",
        i32.const(0),
        get("k4"),
        [
          ...rs.map((r) => set(`va${r}`, v128.load(at(`pa${r}`)))),
          ...ss.map((s) => set(`vb${s}`, v128.load(at(`pb${s}`)))),
          ...rs.flatMap((r) => ss.map((s) => set(`acc${r}${s}`, f32x4.addProduct(get(`acc${r}${s}`), get(`va${r}`), get(`vb${s}`))))),
        ],
        i32.const(4),
      ),
      ...rs.flatMap((r) => ss.flatMap((s) => finish(r, s))),
      f.bump("j", i32.const(cols)),
    ];
  };
  /** every column of rows [i, i + rows); advances i */
  const rowsOf = (rows: number): Code[] => [
    ...Array.from({ length: rows }, (_, r) => set(`pa${r}`, bytes(i32.add(get("a"), i32.mul(i32.add(get("i"), i32.const(r)), get("lda")))))),
    set("j", i32.const(0)),
    loopWhile(i32.leS(i32.add(get("j"), i32.const(MAX_COLS)), get("n")), block(rows, MAX_COLS)),
    when(i32.ltS(get("j"), get("n")), block(rows, 1)),
    f.bump("i", i32.const(rows)),
  ];
  return f.define(
    set("k4", i32.and(get("k"), i32.const(~3))),
    set("i", i32.const(0)),
    loopWhile(i32.leS(i32.add(get("i"), i32.const(MAX_ROWS)), get("m")), rowsOf(MAX_ROWS)),
    when(i32.leS(i32.add(get("i"), i32.const(2)), get("m")), rowsOf(2)),
    when(i32.ltS(get("i"), get("m")), rowsOf(1)),
  );
}

/**
 * C (+)= A · B for A [m, k] and B [k, n], rows contiguous: each row of C is built four columns at a
 * time from broadcast elements of A, so short k (a few channels) costs no horizontal sums.
 */
function productNN(): WasmFunction {
  const f = new WasmFunction("productNN", ["a", "lda", "b", "ldb", "c", "ldc", "m", "n", "k", "accumulate"]);
  f.locals("i32", "i", "j", "kk", "rowEnd", "width", "pb", "pc", "r0");
  const ROWS = 4;
  for (let r = 0; r < ROWS; r++) f.locals("i32", `pa${r}`);
  for (let r = 0; r < ROWS; r++) for (let v = 0; v < 2; v++) f.locals("v128", `acc${r}${v}`);
  f.locals("v128", "b0", "b1", "splat");
  for (let r = 0; r < ROWS; r++) f.locals("f32", `s${r}`);
  const { get, set, forRange } = f;
  /**
   * rows [i, i + rows) of C, columns [j, j + 4·vectors) (vectors 2 or 1), or one column when
   * vectors is 0; advances j past them.
   */
  const block = (rows: number, vectors: number): Code[] => {
    const rs = Array.from({ length: rows }, (_, r) => r);
    const vs = Array.from({ length: vectors }, (_, v) => v);
    const rowPointer = (r: number) => bytes(i32.add(get("c"), i32.add(i32.mul(i32.add(get("i"), i32.const(r)), get("ldc")), get("j"))));
    // pb: byte address of B[kk][j]
    const bAt = (v: number) => i32.add(get("pb"), i32.const(16 * v));
    const inner: Code[] =
      vectors > 0
        ? [
            ...vs.map((v) => set(`b${v}`, v128.load(bAt(v)))),
            ...rs.flatMap((r) => [
              set("splat", f32x4.splat(f32.load(bytes(i32.add(get(`pa${r}`), get("kk")))))),
              ...vs.map((v) => set(`acc${r}${v}`, f32x4.addProduct(get(`acc${r}${v}`), get("splat"), get(`b${v}`)))),
            ]),
          ]
        : rs.map((r) => set(`s${r}`, f32.add(get(`s${r}`), f32.mul(f32.load(bytes(i32.add(get(`pa${r}`), get("kk")))), f32.load(get("pb"))))));
    const start: Code[] = rs.flatMap((r) =>
      vectors > 0
        ? vs.map((v) => set(`acc${r}${v}`, [...v128.zero()]))
        : [set(`s${r}`, f32.const(0))],
    );
    const finish: Code[] = rs.flatMap((r) =>
      vectors > 0
        ? vs.map((v) => {
            const at = i32.add(rowPointer(r), i32.const(16 * v));
            return [...when(get("accumulate"), [set(`acc${r}${v}`, f32x4.add(get(`acc${r}${v}`), v128.load(at)))]), ...v128.store(at, get(`acc${r}${v}`))];
          })
        : [[...when(get("accumulate"), [set(`s${r}`, f32.add(get(`s${r}`), f32.load(rowPointer(r))))]), ...f32.store(rowPointer(r), get(`s${r}`))]],
    );
    return [
      ...start,
      set("pb", bytes(i32.add(get("b"), get("j")))),
      forRange("kk", i32.const(0), get("k"), [...inner, f.bump("pb", bytes(get("ldb")))]),
      ...finish,
      f.bump("j", i32.const(vectors > 0 ? 4 * vectors : 1)),
    ];
  };
  /** all columns of rows [i, i + rows) */
  const rowsOf = (rows: number): Code[] => [
    ...Array.from({ length: rows }, (_, r) => set(`pa${r}`, i32.add(get("a"), i32.mul(i32.add(get("i"), i32.const(r)), get("lda"))))),
    set("j", i32.const(0)),
    [0x02, 0x40, 0x03, 0x40], i32.gtS(get("j"), i32.sub(get("n"), i32.const(8))), [0x0d, 1], ...block(rows, 2), [0x0c, 0, 0x0b, 0x0b],
    when(i32.leS(get("j"), i32.sub(get("n"), i32.const(4))), block(rows, 1)),
    [0x02, 0x40, 0x03, 0x40], i32.geS(get("j"), get("n")), [0x0d, 1], ...block(rows, 0), [0x0c, 0, 0x0b, 0x0b],
  ];
  return f.define(
    set("rowEnd", i32.sub(get("m"), i32.const(ROWS - 1))),
    forRange("i", i32.const(0), get("rowEnd"), rowsOf(ROWS), i32.const(ROWS)),
    forRange("i", get("i"), get("m"), rowsOf(1)),
  );
}

/** Rows summed per partial sum in columnSums: keeps float32 rounding near that of a pairwise sum. */
const SUM_BLOCK = 64;

/**
 * out[j] = Σ_i x[i·cols + j]: the reduction over all leading axes (bias gradients, BatchNorm
 * statistics). Sixteen columns per pass over the rows, in blocks of SUM_BLOCK rows whose partial
 * sums are added up separately.
 */
function columnSums(): WasmFunction {
  const f = new WasmFunction("columnSums", ["x", "rows", "cols", "out"]);
  f.locals("i32", "j", "i", "blockEnd", "at", "stride");
  const WIDTH = 4;
  for (let v = 0; v < WIDTH; v++) f.locals("v128", `part${v}`, `total${v}`);
  f.locals("f32", "partScalar", "totalScalar");
  const { get, set, forRange } = f;
  const group = (vectors: number): Code[] => {
    const vs = Array.from({ length: vectors }, (_, v) => v);
    const load = (v: number) => v128.load(i32.add(get("at"), i32.const(16 * v)));
    return [
      ...vs.map((v) => set(`total${v}`, v128.zero())),
      forRange("i", i32.const(0), get("rows"), [
        set("blockEnd", i32.minS(get("rows"), i32.add(get("i"), i32.const(SUM_BLOCK)))),
        ...vs.map((v) => set(`part${v}`, v128.zero())),
        set("at", bytes(i32.add(get("x"), i32.add(i32.mul(get("i"), get("cols")), get("j"))))),
        forRange("i", get("i"), get("blockEnd"), [...vs.map((v) => set(`part${v}`, f32x4.add(get(`part${v}`), load(v)))), f.bump("at", get("stride"))]),
        ...vs.map((v) => set(`total${v}`, f32x4.add(get(`total${v}`), get(`part${v}`)))),
        // the inner loop left i at blockEnd; the outer one adds 0
      ], i32.const(0)),
      ...vs.map((v) => v128.store(bytes(i32.add(get("out"), i32.add(get("j"), i32.const(4 * v)))), get(`total${v}`))),
      f.bump("j", i32.const(4 * vectors)),
    ];
  };
  const single: Code[] = [
    set("totalScalar", f32.const(0)),
    forRange("i", i32.const(0), get("rows"), [
      set("blockEnd", i32.minS(get("rows"), i32.add(get("i"), i32.const(SUM_BLOCK)))),
      set("partScalar", f32.const(0)),
      set("at", bytes(i32.add(get("x"), i32.add(i32.mul(get("i"), get("cols")), get("j"))))),
      forRange("i", get("i"), get("blockEnd"), [set("partScalar", f32.add(get("partScalar"), f32.load(get("at")))), f.bump("at", get("stride"))]),
      set("totalScalar", f32.add(get("totalScalar"), get("partScalar"))),
    ], i32.const(0)),
    f32.store(bytes(i32.add(get("out"), get("j"))), get("totalScalar")),
    f.bump("j", i32.const(1)),
  ];
  return f.define(
    set("stride", bytes(get("cols"))),
    set("j", i32.const(0)),
    loopWhile(i32.leS(i32.add(get("j"), i32.const(4 * WIDTH)), get("cols")), group(WIDTH)),
    loopWhile(i32.leS(i32.add(get("j"), i32.const(4)), get("cols")), group(1)),
    loopWhile(i32.ltS(get("j"), get("cols")), single),
  );
}

/**
 * out[i][j] = x[i][j] ∘ v[j] (or v[j] ∘ x[i][j] when vectorFirst) for ∘ = op: 0 add, 1 subtract,
 * 2 multiply: a per-channel vector (bias, BatchNorm scale) against every row of an activation.
 */
function rowVectorOp(): WasmFunction {
  const f = new WasmFunction("rowVectorOp", ["x", "rows", "cols", "v", "out", "op", "vectorFirst"]);
  f.locals("i32", "i", "j", "row", "cols4");
  f.locals("v128", "a", "b");
  f.locals("f32", "p", "q");
  const { get, set, forRange } = f;
  const xAt = (j: Code) => bytes(i32.add(get("row"), j));
  const outAt = (j: Code) => bytes(i32.add(i32.sub(get("row"), get("x")), i32.add(get("out"), j)));
  const vAt = (j: Code) => bytes(i32.add(get("v"), j));
  const apply = (vector: boolean): Code[] => {
    const [load, store, add, sub, mul] = vector ? [v128.load, v128.store, f32x4.add, f32x4.sub, f32x4.mul] : [f32.load, f32.store, f32.add, f32.sub, f32.mul];
    const [first, second] = vector ? ["a", "b"] : ["p", "q"];
    const result = (x: Code, y: Code): Code =>
      when(i32.eq(get("op"), i32.const(0)), [store(outAt(get("j")), add(x, y))], [when(i32.eq(get("op"), i32.const(1)), [store(outAt(get("j")), sub(x, y))], [store(outAt(get("j")), mul(x, y))])]);
    return [
      set(first, load(xAt(get("j")))),
      set(second, load(vAt(get("j")))),
      when(get("vectorFirst"), [result(get(second), get(first))], [result(get(first), get(second))]),
    ];
  };
  return f.define(
    set("cols4", i32.and(get("cols"), i32.const(~3))),
    forRange("i", i32.const(0), get("rows"), [
      set("row", i32.add(get("x"), i32.mul(get("i"), get("cols")))),
      forRange("j", i32.const(0), get("cols4"), apply(true), i32.const(4)),
      forRange("j", get("cols4"), get("cols"), apply(false)),
    ]),
  );
}

function toPaddedPlanes(): WasmFunction {
  const f = new WasmFunction("toPaddedPlanes", ["source", "N", "H", "W", "C", "top", "left", "Hp", "Wp", "target"]);
  f.locals("i32", "n", "y", "x", "c", "from", "to", "plane");
  const { get, set, forRange } = f;
  return f.define(
    set("plane", i32.mul(get("N"), i32.mul(get("Hp"), get("Wp")))),
    set("from", get("source")),
    forRange("n", i32.const(0), get("N"), [
      forRange("y", i32.const(0), get("H"), [
        set("to", i32.add(get("target"), i32.add(i32.mul(i32.add(i32.mul(get("n"), get("Hp")), i32.add(get("y"), get("top"))), get("Wp")), get("left")))),
        forRange("x", i32.const(0), get("W"), [
          forRange("c", i32.const(0), get("C"), [f32.store(bytes(i32.add(get("to"), i32.mul(get("c"), get("plane")))), f32.load(bytes(i32.add(get("from"), get("c")))))]),
          f.bump("from", get("C")),
          f.bump("to", i32.const(1)),
        ]),
      ]),
    ]),
  );
}

function transpose(): WasmFunction {
  const f = new WasmFunction("transpose", ["source", "rows", "cols", "target"]);
  f.locals("i32", "i", "j");
  const { get, forRange } = f;
  return f.define(
    forRange("i", i32.const(0), get("rows"), [
      forRange("j", i32.const(0), get("cols"), [
        f32.store(bytes(i32.add(get("target"), i32.add(i32.mul(get("j"), get("rows")), get("i")))), f32.load(bytes(i32.add(get("source"), i32.add(i32.mul(get("i"), get("cols")), get("j")))))),
      ]),
    ]),
  );
}

export interface HeapRoutines {
  patchColumns(x: number, cols: number, first: number, count: number, g: PatchGeometry): void;
  addPatchRows(dx: number, rows: number, first: number, count: number, g: PatchGeometry): void;
  maxPoolGrad(x: number, dy: number, dx: number, batch: number, g: PatchGeometry): void;
  productNT(a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number, accumulate: boolean): void;
  productNN(a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number, accumulate: boolean): void;
  transpose(source: number, rows: number, cols: number, target: number): void;
  toPaddedPlanes(source: number, batch: number, height: number, width: number, channels: number, top: number, left: number, paddedHeight: number, paddedWidth: number, target: number): void;
  columnSums(x: number, rows: number, cols: number, out: number): void;
  rowVectorOp(x: number, rows: number, cols: number, vector: number, out: number, op: RowVectorOp, vectorFirst: boolean): void;
}

/** The operations of rowVectorOp, by the number it takes. */
export const ROW_VECTOR_OPS = { add: 0, subtract: 1, multiply: 2 } as const;
export type RowVectorOp = (typeof ROW_VECTOR_OPS)[keyof typeof ROW_VECTOR_OPS];

let compiled: object | undefined;
const instances = new WeakMap<WasmMemory, HeapRoutines>();

type Exported = Record<string, (...args: number[]) => void>;

function geometryArgs(g: PatchGeometry): number[] {
  return [g.inHeight, g.inWidth, g.inChannels, g.outHeight, g.outWidth, g.filterHeight, g.filterWidth, g.strideHeight, g.strideWidth, g.padTop, g.padLeft];
}

/** The routines bound to one wasm memory (one per backend, so one per thread). */
export function heapRoutines(memoryOfHeap: WasmMemory): HeapRoutines {
  const existing = instances.get(memoryOfHeap);
  if (existing) return existing;
  if (!(memoryOfHeap instanceof WebAssembly.Memory)) throw new Error("project wasm kernels: the heap is not a WebAssembly.Memory");
  compiled ??= new WebAssembly.Module(assemble([patchColumns(), addPatchRows(), maxPoolGrad(), maxPoolGrad2x2(), productNT(), productNN(), transpose(), toPaddedPlanes(), columnSums(), rowVectorOp()]));
  const exports = new WebAssembly.Instance(compiled, { env: { memory: memoryOfHeap } }).exports as Exported;
  const routines: HeapRoutines = {
    patchColumns: (x, cols, first, count, g) => exports.patchColumns!(x, cols, first, count, ...geometryArgs(g)),
    addPatchRows: (dx, rows, first, count, g) => exports.addPatchRows!(dx, rows, first, count, ...geometryArgs(g)),
    maxPoolGrad: (x, dy, dx, batch, g) => {
      const whole2x2 = g.filterHeight === 2 && g.filterWidth === 2 && g.padTop === 0 && g.padLeft === 0 && (g.outHeight - 1) * g.strideHeight + 2 <= g.inHeight && (g.outWidth - 1) * g.strideWidth + 2 <= g.inWidth;
      (whole2x2 ? exports.maxPoolGrad2x2! : exports.maxPoolGrad!)(x, dy, dx, batch, ...geometryArgs(g));
    },
    productNT: (a, lda, b, ldb, c, ldc, m, n, k, accumulate) => exports.productNT!(a, lda, b, ldb, c, ldc, m, n, k, accumulate ? 1 : 0),
    productNN: (a, lda, b, ldb, c, ldc, m, n, k, accumulate) => exports.productNN!(a, lda, b, ldb, c, ldc, m, n, k, accumulate ? 1 : 0),
    transpose: (source, rows, cols, target) => exports.transpose!(source, rows, cols, target),
    toPaddedPlanes: (source, batch, height, width, channels, top, left, paddedHeight, paddedWidth, target) =>
      exports.toPaddedPlanes!(source, batch, height, width, channels, top, left, paddedHeight, paddedWidth, target),
    columnSums: (x, rows, cols, out) => exports.columnSums!(x, rows, cols, out),
    rowVectorOp: (x, rows, cols, vector, out, op, vectorFirst) => exports.rowVectorOp!(x, rows, cols, vector, out, op, vectorFirst ? 1 : 0),
  };
  instances.set(memoryOfHeap, routines);
  return routines;
}
