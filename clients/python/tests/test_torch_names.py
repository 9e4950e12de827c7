"""swamp (TF.js) weight names and layouts → PyTorch's, without torch or a server."""

import unittest

import numpy as np

from swamp_client import to_torch_layout, to_torch_state_dict, torch_state_dict_names


class TorchNamesTest(unittest.TestCase):
    def test_layer_roles_map_to_state_dict_names(self):
        names = ["conv1/kernel", "bn1/gamma", "bn1/beta", "bn1/moving_mean", "bn1/moving_variance", "fc1/kernel", "fc1/bias", "fc1/kernel.mask"]
        self.assertEqual(torch_state_dict_names("conv-4", names), {
            "conv1/kernel": "conv1.weight", "bn1/gamma": "bn1.weight", "bn1/beta": "bn1.bias",
            "bn1/moving_mean": "bn1.running_mean", "bn1/moving_variance": "bn1.running_var",
            "fc1/kernel": "fc1.weight", "fc1/bias": "fc1.bias",
        })

    def test_resnet_blocks_map_to_layer_stage_block(self):
        names = ["conv/kernel", "bn/gamma", "s2b1_conv1/kernel", "s2b1_shortcut_conv/kernel", "s2b1_shortcut_bn/beta", "s3b3_bn2/moving_mean", "fc/kernel"]
        self.assertEqual(list(torch_state_dict_names("resnet-20", names).values()), [
            "conv1.weight", "bn1.weight", "layer2.0.conv1.weight", "layer2.0.shortcut.0.weight", "layer2.0.shortcut.1.bias",
            "layer3.2.bn2.running_mean", "linear.weight",
        ])

    def test_unknown_model_is_refused(self):
        with self.assertRaisesRegex(ValueError, "model_name: expected one of"):
            torch_state_dict_names("vgg", ["fc1/kernel"])

    def test_dense_kernels_transpose_and_conv_kernels_go_out_in_h_w(self):
        dense = np.arange(6, dtype=np.float32).reshape(2, 3)
        np.testing.assert_array_equal(to_torch_layout("fc2/kernel", dense), dense.T)
        conv = np.arange(5 * 5 * 2 * 3, dtype=np.float32).reshape(5, 5, 2, 3)
        torch_conv = to_torch_layout("conv1/kernel", conv)
        self.assertEqual(torch_conv.shape, (3, 2, 5, 5))
        self.assertEqual(torch_conv[2, 1, 4, 0], conv[4, 0, 1, 2])
        bias = np.ones(3, dtype=np.float32)
        self.assertIs(to_torch_layout("fc2/bias", bias), bias)

    def test_the_dense_layer_after_convolutions_reads_channels_first(self):
        h, w, c, out = 5, 5, 16, 3
        # Row r of the TF.js kernel is feature (h, w, c) with r = (h * W + w) * C + c.
        fc1 = np.arange(h * w * c * out, dtype=np.float32).reshape(h * w * c, out)
        weights = {
            "conv1/kernel": np.zeros((5, 5, 1, 6), np.float32), "conv2/kernel": np.zeros((5, 5, 6, c), np.float32),
            "fc1/kernel": fc1, "fc2/kernel": np.arange(out * 2, dtype=np.float32).reshape(out, 2),
        }
        state = to_torch_state_dict(weights, "lenet-5")
        torch_fc1 = state["fc1.weight"]
        self.assertEqual(torch_fc1.shape, (out, h * w * c))
        for (i, j, k, o) in [(0, 0, 0, 0), (1, 2, 3, 1), (4, 4, 15, 2), (2, 0, 7, 0)]:
            # torch flattens (c, h, w): column k * H * W + i * W + j.
            self.assertEqual(torch_fc1[o, k * h * w + i * w + j], fc1[(i * w + j) * c + k, o])
        np.testing.assert_array_equal(state["fc2.weight"], weights["fc2/kernel"].T)
        self.assertEqual(state["conv2.weight"].shape, (c, 6, 5, 5))


if __name__ == "__main__":
    unittest.main()
