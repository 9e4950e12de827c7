/**
 * numpy's `.npz`: an uncompressed zip of `.npy` files, one per tensor, named `<tensor name>.npy`
 * (so `numpy.load(...)[name]` finds it; names may contain `/`, as zip paths do).
 *
 * `.npy` v1.0: "\x93NUMPY" | 1 | 0 | u16 header length | header (a Python dict literal, padded with
 * spaces to end with "\n" at a multiple of 64 bytes) | the data, row-major.
 * The zip is plain "stored" entries with crc32, no zip64: every entry and the whole file stay
 * below 4 GiB.
 */
import { crc32 } from "node:zlib";
import { checkTensor, type NamedTensor, type TensorDtype } from "./named-tensor.js";

const NPY_DESCR: Record<TensorDtype, string> = { float32: "<f4", int32: "<i4", bool: "|b1" };
const ZIP_LIMIT = 0xffff_ffff;

export function encodeNpy(tensor: NamedTensor): Buffer {
  checkTensor(tensor);
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(", ")})`;
  const dict = `{'descr': '${NPY_DESCR[tensor.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + dict.length + 1;
  const header = dict + " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const prefix = Buffer.alloc(10);
  prefix.write("\x93NUMPY", 0, "latin1");
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, "latin1"), tensor.data]);
}

export function encodeNpz(tensors: readonly NamedTensor[]): Buffer {
  const names = new Set<string>();
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    if (names.has(tensor.name)) throw new Error(`npz: two tensors named ${tensor.name}`);
    names.add(tensor.name);
    const name = Buffer.from(`${tensor.name}.npy`, "utf8");
    const data = encodeNpy(tensor);
    if (data.length > ZIP_LIMIT || offset > ZIP_LIMIT) throw new Error("npz: more than 4 GiB, which needs zip64");
    const checksum = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    writeEntryFields(local, 4, checksum, data.length, name.length);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // made by: version 2.0
    writeEntryFields(central, 6, checksum, data.length, name.length);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  if (offset + directory.length > ZIP_LIMIT) throw new Error("npz: more than 4 GiB, which needs zip64");
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(tensors.length, 8);
  end.writeUInt16LE(tensors.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** The fields local and central headers share, from "version needed" on (flags 0, method stored, time 0). */
function writeEntryFields(header: Buffer, at: number, checksum: number, size: number, nameLength: number): void {
  header.writeUInt16LE(20, at); // version needed: 2.0
  header.writeUInt16LE(0x0800, at + 2); // flags: names are UTF-8
  header.writeUInt16LE(0, at + 4); // method: stored
  header.writeUInt16LE(0, at + 6); // time
  header.writeUInt16LE(0x21, at + 8); // date: 1980-01-01
  header.writeUInt32LE(checksum, at + 10);
  header.writeUInt32LE(size, at + 14); // compressed
  header.writeUInt32LE(size, at + 18); // uncompressed
  header.writeUInt16LE(nameLength, at + 22);
}
