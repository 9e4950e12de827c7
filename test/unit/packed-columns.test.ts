import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { packFloats, packIntegers, unpackFloats, unpackIntegers } from "../../schema/packed-columns.js";
import { mulberry32 } from "../../worker/data/prng.js";
import { PYTHON } from "../helpers/python.js";

const random = mulberry32(20);
const BIG = Number.MAX_SAFE_INTEGER;

/** Integer columns of every kind the format must carry: regular, irregular, constant, negative, huge. */
const INTEGER_COLUMNS: Record<string, number[]> = {
  empty: [],
  one: [7],
  zero: [0],
  "regular steps": Array.from({ length: 10_000 }, (_, n) => n),
  "global steps with a jump": [...Array.from({ length: 50 }, (_, n) => 11_256 + n), ...Array.from({ length: 50 }, (_, n) => 20_000 + 2 * n)],
  "irregular times": (() => {
    let time = 1_764_000_000_000;
    return Array.from({ length: 2_000 }, () => (time += Math.floor(random() * 400)));
  })(),
  "times going back": [1_764_000_000_500, 1_764_000_000_400, 1_764_000_000_400, 1_764_000_000_900, 3],
  "negative and huge": [-BIG, BIG, 0, BIG, BIG - 1, -BIG, -BIG, 2 ** 50, -(2 ** 50), 2 ** 49, 1, -1],
};

const FLOAT_COLUMNS: Record<string, number[]> = {
  empty: [],
  losses: Array.from({ length: 3_000 }, (_, n) => 2 / (1 + n / 500) + random() * 0.05),
  "edge values": [0, -0, 1, -1, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, 0.1, 1 / 3, Number.EPSILON, 1e-310, Math.fround(0.1)],
};

describe("packed metric columns", () => {
  it("give back every integer exactly, in order", () => {
    for (const [name, column] of Object.entries(INTEGER_COLUMNS)) assert.deepEqual(unpackIntegers(packIntegers(column)), column, name);
  });

  it("give back every double bit for bit, -0 included", () => {
    for (const [name, column] of Object.entries(FLOAT_COLUMNS)) {
      const back = unpackFloats(packFloats(column));
      assert.equal(back.length, column.length, name);
      for (let n = 0; n < column.length; n++) assert.ok(Object.is(back[n], column[n]), `${name}[${n}]: ${back[n]} for ${column[n]}`);
    }
  });

  it("pack a regular column into a few bytes and an irregular one into about two a point", () => {
    assert.ok(packIntegers(INTEGER_COLUMNS["regular steps"]!).length <= 8, packIntegers(INTEGER_COLUMNS["regular steps"]!));
    const times = INTEGER_COLUMNS["irregular times"]!;
    assert.ok(packIntegers(times).length < 3 * times.length, `${packIntegers(times).length} characters for ${times.length} times`);
    assert.equal(packFloats(FLOAT_COLUMNS.losses!).length, Math.ceil((8 * FLOAT_COLUMNS.losses!.length) / 3) * 4);
  });

  it("refuse a column entry that is not a safe integer, naming it", () => {
    assert.throws(() => packIntegers([1, 2.5], "steps"), /steps\[1\] is 2.5, not a safe integer/);
    assert.throws(() => packIntegers([NaN], "times"), /times\[0\] is NaN/);
    assert.throws(() => packIntegers([0, 2 ** 53], "times"), /times\[1\] is 9007199254740992/);
  });

  it("are decoded the same by the Python client", async () => {
    const integers = Object.fromEntries(Object.entries(INTEGER_COLUMNS).map(([name, column]) => [name, packIntegers(column)]));
    const floats = Object.fromEntries(Object.entries(FLOAT_COLUMNS).map(([name, column]) => [name, packFloats(column)]));
    // Python's json writes -0.0 and 5e-324 as such; repr round-trips every double.
    const script = [
      "import json, sys",
      "from swamp_client.packed_columns import unpack_floats, unpack_integers",
      "packed = json.load(sys.stdin)",
      "out = {'integers': {k: unpack_integers(v) for k, v in packed['integers'].items()}, 'floats': {k: [repr(x) for x in unpack_floats(v)] for k, v in packed['floats'].items()}}",
      "print(json.dumps(out))",
    ].join("\n");
    const output = await new Promise<string>((resolveRun, reject) => {
      const child = execFile(PYTHON, ["-c", script], { cwd: resolve(__dirname, "../../../clients/python"), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolveRun(stdout),
      );
      child.stdin!.end(JSON.stringify({ integers, floats }));
    });
    const decoded = JSON.parse(output) as { integers: Record<string, number[]>; floats: Record<string, string[]> };
    for (const [name, column] of Object.entries(INTEGER_COLUMNS)) assert.deepEqual(decoded.integers[name], column, name);
    for (const [name, column] of Object.entries(FLOAT_COLUMNS)) {
      const back = decoded.floats[name]!.map((text) => (text === "-0.0" ? -0 : Number(text)));
      assert.equal(back.length, column.length, name);
      for (let n = 0; n < column.length; n++) assert.ok(Object.is(back[n], column[n]), `${name}[${n}]: Python gave ${decoded.floats[name]![n]} for ${column[n]}`);
    }
  });
});
