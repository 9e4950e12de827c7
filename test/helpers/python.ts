/**
 * Debian's Python 3 with numpy (python3-numpy), pandas, websockets and matplotlib, run from tests.
 * /usr/bin/python3 rather than `python3`: an interpreter earlier on PATH (pyenv) may lack them.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

export const PYTHON = process.env.SWAMP_TEST_PYTHON ?? "/usr/bin/python3";

export interface PythonTensor {
  dtype: string;
  shape: number[];
  values: Array<number | boolean>;
}

const READ_TENSORS = `
import json, struct, sys
import numpy as np
path, fmt = sys.argv[1], sys.argv[2]
out = {}
def put(name, array):
    out[name] = {"dtype": str(array.dtype), "shape": list(array.shape), "values": array.ravel().tolist()}
if fmt == "npz":
    with np.load(path, allow_pickle=False) as archive:
        for name in archive.files:
            put(name, archive[name])
else:
    raw = open(path, "rb").read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    out_meta = header.pop("__metadata__", {})
    dtypes = {"F32": "<f4", "I32": "<i4", "BOOL": "?"}
    data = raw[8 + length:]
    for name, spec in header.items():
        begin, end = spec["data_offsets"]
        put(name, np.frombuffer(data[begin:end], dtype=dtypes[spec["dtype"]]).reshape(spec["shape"]))
    out["__metadata__"] = out_meta
print(json.dumps(out))
`;

/**
 * Every array of an `.npz` (numpy.load) or `.safetensors` file (its header parsed by hand, the data
 * by numpy.frombuffer), as numpy sees it.
 */
export async function readTensorsWithNumpy(path: string, format: "npz" | "safetensors"): Promise<Record<string, PythonTensor> & { __metadata__?: Record<string, string> }> {
  const { stdout } = await promisify(execFile)(PYTHON, ["-c", READ_TENSORS, path, format], { maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(stdout);
}
