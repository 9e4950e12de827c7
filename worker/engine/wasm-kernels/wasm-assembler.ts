/**
 * A small WebAssembly assembler: enough of the binary format (MVP, bulk memory, 128-bit SIMD) to
 * write the project's heap routines as expression trees in TypeScript, with no toolchain. The
 * machine has no wasm compiler and the routines are short, so they are written here directly.
 *
 * Every expression helper returns the bytes of its operands followed by its opcode, so code reads
 * as nested calls: `i32.add(get("a"), i32.const(4))`. Functions take i32 parameters only and
 * return nothing; their module imports one memory, `env.memory`.
 */

export type Code = number[];
export type ValueType = "i32" | "f32" | "v128";

const TYPE_BYTE: Record<ValueType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

export function unsignedLeb(value: number): Code {
  const out: Code = [];
  let rest = value >>> 0;
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}

export function signedLeb(value: number): Code {
  const out: Code = [];
  let rest = value | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    if ((rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function join(...parts: Code[]): Code {
  return parts.flat();
}

const SIMD = 0xfd;
const BULK = 0xfc;
/** memarg for 4-byte loads/stores: alignment hint 2^2 (not required), offset 0. */
const MEMARG_4: Code = [2, 0];
/** memarg for 16-byte loads/stores: alignment hint 2^0, since addresses are only 4-byte aligned. */
const MEMARG_16: Code = [0, 0];

function binary(opcode: number) {
  return (a: Code, b: Code): Code => join(a, b, [opcode]);
}

function simd(opcode: number, ...immediates: number[]): Code {
  return [SIMD, ...unsignedLeb(opcode), ...immediates];
}

export const i32 = {
  const: (value: number): Code => [0x41, ...signedLeb(value)],
  add: binary(0x6a),
  sub: binary(0x6b),
  mul: binary(0x6c),
  divS: binary(0x6d),
  shl: binary(0x74),
  eqz: (a: Code): Code => join(a, [0x45]),
  eq: binary(0x46),
  ne: binary(0x47),
  ltS: binary(0x48),
  gtS: binary(0x4a),
  leS: binary(0x4c),
  geS: binary(0x4e),
  and: binary(0x71),
  or: binary(0x72),
  /** The larger of two values (evaluates both). */
  maxS: (a: Code, b: Code): Code => select(a, b, i32.geS(a, b)),
  minS: (a: Code, b: Code): Code => select(a, b, i32.leS(a, b)),
};

export const f32 = {
  const: (value: number): Code => {
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    return [0x43, ...bytes];
  },
  add: binary(0x92),
  sub: binary(0x93),
  mul: binary(0x94),
  ne: binary(0x5c),
  gt: binary(0x5e),
  /** The float at byte address `address`. */
  load: (address: Code): Code => join(address, [0x2a], MEMARG_4),
  store: (address: Code, value: Code): Code => join(address, value, [0x38], MEMARG_4),
};

export const v128 = {
  load: (address: Code): Code => join(address, simd(0x00), MEMARG_16),
  store: (address: Code, value: Code): Code => join(address, value, simd(0x0b), MEMARG_16),
  zero: (): Code => simd(0x0c, ...new Array<number>(16).fill(0)),
};

export const f32x4 = {
  splat: (value: Code): Code => join(value, simd(0x13)),
  lane: (vector: Code, lane: number): Code => join(vector, simd(0x1f, lane)),
  add: (a: Code, b: Code): Code => join(a, b, simd(0xe4)),
  sub: (a: Code, b: Code): Code => join(a, b, simd(0xe5)),
  mul: (a: Code, b: Code): Code => join(a, b, simd(0xe6)),
  /** a + b · c */
  addProduct: (a: Code, b: Code, c: Code): Code => f32x4.add(a, f32x4.mul(b, c)),
  /** The sum of the four lanes. */
  sum: (vector: () => Code): Code => f32.add(f32.add(f32x4.lane(vector(), 0), f32x4.lane(vector(), 1)), f32.add(f32x4.lane(vector(), 2), f32x4.lane(vector(), 3))),
};

export const memory = {
  /** memmove of `bytes` bytes. */
  copy: (target: Code, source: Code, bytes: Code): Code => join(target, source, bytes, [BULK, ...unsignedLeb(10), 0, 0]),
  fill: (target: Code, byte: Code, bytes: Code): Code => join(target, byte, bytes, [BULK, ...unsignedLeb(11), 0]),
};

export function select(ifTrue: Code, ifFalse: Code, condition: Code): Code {
  return join(ifTrue, ifFalse, condition, [0x1b]);
}

export function when(condition: Code, body: Code[], otherwise?: Code[]): Code {
  return join(condition, [0x04, 0x40], ...body, otherwise ? join([0x05], ...otherwise) : [], [0x0b]);
}

/** A function under construction: named i32 parameters and typed named locals. */
export class WasmFunction {
  private readonly slots = new Map<string, { index: number; type: ValueType }>();
  private readonly localTypes: ValueType[] = [];
  private body: Code = [];

  constructor(
    readonly name: string,
    readonly params: readonly string[],
  ) {
    params.forEach((param, index) => this.slots.set(param, { index, type: "i32" }));
  }

  locals(type: ValueType, ...names: string[]): this {
    for (const name of names) {
      if (this.slots.has(name)) throw new Error(`wasm function ${this.name}: ${name} declared twice`);
      this.slots.set(name, { index: this.params.length + this.localTypes.length, type });
      this.localTypes.push(type);
    }
    return this;
  }

  private slot(name: string): number {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`wasm function ${this.name}: no parameter or local named ${name}`);
    return slot.index;
  }

  get = (name: string): Code => [0x20, ...unsignedLeb(this.slot(name))];
  set = (name: string, value: Code): Code => join(value, [0x21, ...unsignedLeb(this.slot(name))]);
  /** name += amount (i32) */
  bump = (name: string, amount: Code): Code => this.set(name, i32.add(this.get(name), amount));

  /**
   * for (name = from; name < to; name += step) body — `to` and `step` are re-evaluated on every
   * iteration, so they should be locals or constants.
   */
  forRange = (name: string, from: Code, to: Code, body: Code[], step: Code = i32.const(1)): Code =>
    join(this.set(name, from), [0x02, 0x40, 0x03, 0x40], i32.geS(this.get(name), to), [0x0d, 1], ...body, this.bump(name, step), [0x0c, 0, 0x0b, 0x0b]);

  define(...statements: Code[]): this {
    this.body = join(...statements);
    return this;
  }

  encode(): { type: Code; code: Code } {
    const type = join([0x60], unsignedLeb(this.params.length), this.params.map(() => TYPE_BYTE.i32), [0]);
    const groups: Code = [];
    let count = 0;
    for (let i = 0; i < this.localTypes.length; i++) {
      count++;
      if (i + 1 === this.localTypes.length || this.localTypes[i + 1] !== this.localTypes[i]) {
        groups.push(...unsignedLeb(count), TYPE_BYTE[this.localTypes[i]!]);
        count = 0;
      }
    }
    const runs = this.localTypes.reduce((n, t, i) => n + (i === 0 || this.localTypes[i - 1] !== t ? 1 : 0), 0);
    const body = join(unsignedLeb(runs), groups, this.body, [0x0b]);
    return { type, code: join(unsignedLeb(body.length), body) };
  }
}

function section(id: number, contents: Code): Code {
  return join([id], unsignedLeb(contents.length), contents);
}

function vector(items: Code[]): Code {
  return join(unsignedLeb(items.length), ...items);
}

function name(text: string): Code {
  const bytes = [...new TextEncoder().encode(text)];
  return join(unsignedLeb(bytes.length), bytes);
}

/** A module importing `env.memory` and exporting each function under its name. */
export function assemble(functions: readonly WasmFunction[]): Uint8Array {
  const encoded = functions.map((f) => f.encode());
  const bytes = join(
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vector(encoded.map((e) => e.type))),
    section(2, vector([join(name("env"), name("memory"), [0x02, 0x00], unsignedLeb(0))])),
    section(3, vector(functions.map((_, i) => unsignedLeb(i)))),
    section(7, vector(functions.map((f, i) => join(name(f.name), [0x00], unsignedLeb(i))))),
    section(10, vector(encoded.map((e) => e.code))),
  );
  return Uint8Array.from(bytes);
}
