"""From swamp's (TF.js) weight names and layouts to PyTorch ``state_dict`` names and layouts.

swamp names weights ``<layer>/<role>``: ``fc1/kernel``, ``fc1/bias``, ``conv1/kernel``,
``bn1/gamma``, ``bn1/beta``, ``bn1/moving_mean``, ``bn1/moving_variance``. A PyTorch module built
with the same layer names as attributes (``self.fc1 = nn.Linear(...)``, ``self.conv1 =
nn.Conv2d(...)``, ``self.bn1 = nn.BatchNorm2d(...)``) names them ``fc1.weight``, ``fc1.bias``,
``conv1.weight``, ``bn1.weight``, ``bn1.bias``, ``bn1.running_mean``, ``bn1.running_var``.
For ``resnet-20`` the blocks map to the usual CIFAR ResNet layout: ``s2b1_conv1`` →
``layer2.0.conv1``, ``s2b1_shortcut_conv``/``_bn`` → ``layer2.0.shortcut.0``/``.1``, the stem
``conv``/``bn`` → ``conv1``/``bn1`` and ``fc`` → ``linear``.

Layouts differ too, which is what :func:`to_torch_layout` fixes (numpy only, no torch needed):

* Dense kernels are ``[in, out]`` in TF.js and ``[out, in]`` in torch (transposed);
* Conv2D kernels are ``[h, w, in, out]`` in TF.js and ``[out, in, h, w]`` in torch;
* the first Dense layer after convolutions reads a flattened feature map, which TF.js flattens in
  ``(h, w, c)`` order and torch in ``(c, h, w)`` order: its input rows are permuted as well
  (:func:`to_torch_state_dict` does it for LeNet-5 and Conv-2/4/6, square inputs assumed).

torch's BatchNorm also keeps ``num_batches_tracked``, which swamp has not: load with
``model.load_state_dict(state, strict=False)``.
"""

import math
import re
from typing import Any, Dict, Iterable, Optional

from .frames import numpy_module

KNOWN_MODELS = ("lenet-300-100", "lenet-5", "conv-2", "conv-4", "conv-6", "resnet-20")
_ROLES = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}
_RESNET_BLOCK = re.compile(r"^s(\d+)b(\d+)_(.+)$")
_RESNET_STEM = {"conv": "conv1", "bn": "bn1", "fc": "linear"}


def _torch_module_name(model_name: str, layer: str) -> str:
    if model_name != "resnet-20":
        return layer
    block = _RESNET_BLOCK.match(layer)
    if block is None:
        return _RESNET_STEM.get(layer, layer)
    stage, index, part = block.groups()
    part = {"shortcut_conv": "shortcut.0", "shortcut_bn": "shortcut.1"}.get(part, part)
    return f"layer{stage}.{int(index) - 1}.{part}"


def torch_state_dict_names(model_name: str, names: Iterable[str]) -> Dict[str, str]:
    """Maps each swamp weight name (``fc1/kernel``) to its PyTorch state_dict name (``fc1.weight``).

    ``model_name`` is the config's ``model.name``. Names that are not weights (the ``.mask`` arrays
    of a sparse export) are left out.
    """
    if model_name not in KNOWN_MODELS:
        raise ValueError(f"model_name: expected one of {', '.join(KNOWN_MODELS)}, got {model_name!r}")
    mapping = {}
    for name in names:
        layer, _, role = name.rpartition("/")
        if not layer or role not in _ROLES:
            continue
        mapping[name] = f"{_torch_module_name(model_name, layer)}.{_ROLES[role]}"
    return mapping


def to_torch_layout(name: str, array: Any, flattened_from: Optional[tuple] = None) -> Any:
    """The array in torch's layout: kernels transposed (see the module notes), others unchanged.

    ``flattened_from=(h, w, c)`` marks a Dense kernel fed by a flattened ``h × w × c`` feature map:
    its input rows are reordered from TF.js's ``(h, w, c)`` to torch's ``(c, h, w)``.
    """
    np = numpy_module()
    array = np.asarray(array)
    if not name.endswith("/kernel"):
        return array
    if array.ndim == 4:
        return np.ascontiguousarray(array.transpose(3, 2, 0, 1))
    if array.ndim != 2:
        raise ValueError(f"{name}: a kernel of shape {array.shape} is neither Dense nor Conv2D")
    if flattened_from is not None:
        h, w, c = flattened_from
        if h * w * c != array.shape[0]:
            raise ValueError(f"{name}: flattened_from {flattened_from} has {h * w * c} values, the kernel takes {array.shape[0]}")
        array = array.reshape(h, w, c, array.shape[1]).transpose(2, 0, 1, 3).reshape(array.shape[0], array.shape[1])
    return np.ascontiguousarray(array.T)


def to_torch_state_dict(weights: Dict[str, Any], model_name: str) -> Dict[str, Any]:
    """A whole model (``Swamp.weights(...)`` with ``dense=True``) as a torch-style state dict of numpy arrays.

    Pass each value to ``torch.from_numpy`` to load it. The first Dense layer after the last
    convolution gets its input rows permuted (square feature maps assumed).
    """
    names = torch_state_dict_names(model_name, weights)
    last_conv_channels = None
    flatten_done = False
    state = {}
    for name, torch_name in names.items():
        array = weights[name]
        flattened_from = None
        if name.endswith("/kernel") and array.ndim == 4:
            last_conv_channels = array.shape[3]
        elif name.endswith("/kernel") and array.ndim == 2 and last_conv_channels and not flatten_done and model_name != "resnet-20":
            flatten_done = True
            cells = array.shape[0] // last_conv_channels
            side = math.isqrt(cells)
            if side * side * last_conv_channels != array.shape[0]:
                raise ValueError(f"{name}: cannot tell the feature map it flattens ({array.shape[0]} inputs, {last_conv_channels} channels)")
            flattened_from = (side, side, last_conv_channels)
        state[torch_name] = to_torch_layout(name, array, flattened_from)
    return state
