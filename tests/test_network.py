"""The invertible rescaler: exact inverse, Haar at initialisation, shapes at x2 and x4."""

from __future__ import annotations

import pytest
import torch

from codec.network import InvertibleRescaler, NetworkConfig, haar_merge, haar_split


def randomised(config: NetworkConfig) -> InvertibleRescaler:
    torch.manual_seed(0)
    net = InvertibleRescaler(config)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.05)
    return net.eval()


@pytest.mark.parametrize("subnet", ["plain", "dense"])
@pytest.mark.parametrize("scale", [2, 4])
def test_inverse_undoes_forward_to_float_precision(scale, subnet):
    net = randomised(NetworkConfig(scale=scale, blocks_per_stage=3, hidden=8, subnet=subnet))
    x = torch.rand(2, 3, 8 * scale, 12 * scale)
    with torch.no_grad():
        y = net(x)
        assert y.shape == (2, 3 * scale * scale, 8, 12)
        assert torch.allclose(net.inverse(y), x, atol=1e-5)


def test_forward_undoes_inverse_too():
    net = randomised(NetworkConfig(scale=2, blocks_per_stage=2, hidden=8))
    y = torch.randn(1, 12, 5, 7)
    with torch.no_grad():
        assert torch.allclose(net(net.inverse(y)), y, atol=1e-4)


def test_haar_split_is_exactly_inverted_and_puts_the_mean_first():
    x = torch.rand(1, 3, 6, 10)
    y = haar_split(x)
    assert torch.allclose(haar_merge(y), x, atol=1e-6)
    assert torch.allclose(y[:, :3], torch.nn.functional.avg_pool2d(x, 2), atol=1e-6)


@pytest.mark.parametrize("subnet", ["plain", "dense"])
def test_untrained_network_is_the_haar_transform(subnet):
    net = InvertibleRescaler(NetworkConfig(scale=2, subnet=subnet)).eval()
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        y = net(x)
        expected = haar_split(x)
        assert torch.allclose(y[:, :3], expected[:, :3], atol=1e-6)
        assert torch.allclose(y[:, 3:], expected[:, 3:] * net.config.z_gain, atol=1e-5)


def test_latent_is_zero_at_temperature_zero_and_a_seed_fixes_the_draw():
    net = InvertibleRescaler(NetworkConfig(scale=4, blocks_per_stage=1, hidden=4))
    assert net.draw_latent(1, 3, 5, 0.0, 1).shape == (1, 45, 3, 5)
    assert not net.draw_latent(1, 3, 5, 0.0, 1).any()
    a, b = net.draw_latent(2, 4, 4, 0.7, 5), net.draw_latent(2, 4, 4, 0.7, 5)
    assert torch.equal(a, b) and not torch.equal(a, net.draw_latent(2, 4, 4, 0.7, 6))
    assert 0.5 < float(a.std()) < 0.9


def test_scale_must_be_2_or_4():
    with pytest.raises(ValueError):
        NetworkConfig(scale=3)


def test_unknown_subnet_is_refused():
    with pytest.raises(ValueError, match="subnet"):
        NetworkConfig(subnet="resnet")


def test_revision_1_weights_keep_meaning_the_plain_subnet():
    """r1 files store no 'subnet' key: they must still build three-convolution couplings."""
    from codec.models import load_model

    net, _ = load_model("irr-x2", 1)
    assert net.config.subnet == "plain"
    assert len(net.stages[0][0].f.body) == 5  # conv, act, conv, act, conv
