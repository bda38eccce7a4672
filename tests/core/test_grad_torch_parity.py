"""The vector-Jacobian products against torch.autograd (float64), with Keras's padding and crops written out
explicitly for torch (docs/layers.md). Skipped where PyTorch is not installed."""

import numpy as np
import pytest

from cnnviz.core import batch_ops as B
from cnnviz.core import grad_ops as G

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(11)


def nchw(x):
    return torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), requires_grad=True)


def back(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


def torch_vjp(fn, x, *weights, dy):
    """(dx, weight grads) of Σ fn(x, *weights)·dy; x and dy channels-last, weights as given."""
    xt = nchw(x)
    ws = [torch.tensor(w, requires_grad=True) for w in weights]
    y = fn(xt, *ws)
    (y * torch.tensor(np.ascontiguousarray(dy.transpose(0, 3, 1, 2)))).sum().backward()
    return back(xt.grad), [w.grad.numpy() for w in ws]


@pytest.mark.parametrize(("k", "s", "d", "padding"), [(3, 1, 1, "valid"), (3, 2, 1, "same"), (4, 3, 1, "same"),
                                                      (3, 1, 2, "same"), (2, 2, 1, "valid")])
def test_conv2d(k, s, d, padding):
    x, kernel = RNG.standard_normal((2, 7, 6, 3)), RNG.standard_normal((k, k, 3, 2))
    (oh, ow), rows, cols = B.conv_geometry(x.shape, (k, k), (s, s), padding, (d, d))
    dy = RNG.standard_normal((2, oh, ow, 2))

    def fn(xt, kt, bt):
        return F.conv2d(F.pad(xt, (*cols, *rows)), kt.permute(3, 2, 0, 1), bt, stride=s, dilation=d)

    dx, (dk, db) = torch_vjp(fn, x, kernel, np.zeros(2), dy=dy)
    ours = G.conv2d(x, dy, kernel, (s, s), padding, (d, d))
    for a, b in zip(ours, (dx, dk, db)):
        np.testing.assert_allclose(a, b, atol=1e-10)


@pytest.mark.parametrize(("k", "s", "padding"), [(3, 2, "valid"), (3, 2, "same"), (4, 2, "same"), (2, 3, "same")])
def test_conv2d_transpose(k, s, padding):
    x, kernel = RNG.standard_normal((2, 3, 4, 2)), RNG.standard_normal((k, k, 3, 2))
    (oh, ow), (top, left), _ = B.transpose_geometry(x.shape, (k, k), (s, s), padding, None)
    dy = RNG.standard_normal((2, oh, ow, 3))

    def fn(xt, kt):
        full = F.conv_transpose2d(xt, kt.permute(3, 2, 0, 1), stride=s)  # no padding: Keras's crop below
        full = F.pad(full, (0, max(0, left + ow - full.shape[3]), 0, max(0, top + oh - full.shape[2])))
        return full[:, :, top : top + oh, left : left + ow]

    dx, (dk,) = torch_vjp(fn, x, kernel, dy=dy)
    ours_dx, ours_dk, _ = G.conv2d_transpose(x, dy, kernel, (s, s), padding)
    np.testing.assert_allclose(ours_dx, dx, atol=1e-10)
    np.testing.assert_allclose(ours_dk, dk, atol=1e-10)


def test_depthwise_conv2d():
    x, kernel = RNG.standard_normal((2, 7, 6, 3)), RNG.standard_normal((3, 3, 3, 2))
    dy = RNG.standard_normal((2, 4, 3, 6))  # ⌈7/2⌉ × ⌈6/2⌉
    (_, _), rows, cols = B.conv_geometry(x.shape, (3, 3), (2, 2), "same")

    def fn(xt, kt):
        weight = kt.reshape(3, 3, 6).permute(2, 0, 1)[:, None]  # (in·M, 1, kh, kw), channel c·M + m
        return F.conv2d(F.pad(xt, (*cols, *rows)), weight, stride=2, groups=3)

    dx, (dk,) = torch_vjp(fn, x, kernel, dy=dy)
    ours_dx, ours_dk, _ = G.depthwise_conv2d(x, dy, kernel, (2, 2), "same")
    np.testing.assert_allclose(ours_dx, dx, atol=1e-10)
    np.testing.assert_allclose(ours_dk, dk, atol=1e-10)


@pytest.mark.parametrize(("k", "s"), [(2, 2), (3, 1), (3, 2)])
def test_max_pooling_with_ties_and_average_pooling(k, s):
    x = RNG.integers(0, 3, (2, 6, 7, 2)).astype(np.float64)  # many ties: torch also takes the first maximum
    (oh, ow), _, _ = B.pool_geometry(x.shape, (k, k), (s, s), "valid")
    dy = RNG.standard_normal((2, oh, ow, 2))
    dx, _ = torch_vjp(lambda xt: F.max_pool2d(xt, k, s), x, dy=dy)
    np.testing.assert_allclose(G.pool2d(x, dy, (k, k), (s, s)), dx, atol=1e-12)
    dx, _ = torch_vjp(lambda xt: F.avg_pool2d(xt, k, s), x, dy=dy)
    np.testing.assert_allclose(G.pool2d(x, dy, (k, k), (s, s), mode="average"), dx, atol=1e-12)


def test_global_pooling_splits_tied_maxima_as_amax():
    x = RNG.integers(0, 2, (2, 3, 3, 2)).astype(np.float64)
    dy = RNG.standard_normal((2, 2))
    xt = nchw(x)
    (xt.amax(dim=(2, 3)) * torch.tensor(dy)).sum().backward()
    np.testing.assert_allclose(G.global_pool(x, dy, "max"), back(xt.grad), atol=1e-12)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsampling(mode):
    x = RNG.standard_normal((2, 3, 2, 2))
    dy = RNG.standard_normal((2, 6, 6, 2))
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    dx, _ = torch_vjp(lambda xt: F.interpolate(xt, scale_factor=(2, 3), mode=mode, **kwargs), x, dy=dy)
    np.testing.assert_allclose(G.upsample2d(x, dy, (2, 3), mode), dx, atol=1e-12)


@pytest.mark.parametrize(("name", "fn"), [("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh),
                                          ("leaky_relu", lambda t: F.leaky_relu(t, 0.3)),
                                          ("softmax", lambda t: torch.softmax(t, dim=1))])
def test_activations(name, fn):
    x = RNG.standard_normal((2, 3, 3, 4))
    x[0, 0, 0] = 0  # the kink: both give ReLU slope 0 and the leaky slope at 0
    dy = RNG.standard_normal(x.shape)
    dx, _ = torch_vjp(fn, x, dy=dy)
    np.testing.assert_allclose(G.activation(x, dy, name, 0.3), dx, atol=1e-12)


def test_dense_and_batch_norm():
    x, kernel, dy = RNG.standard_normal((4, 5)), RNG.standard_normal((5, 3)), RNG.standard_normal((4, 3))
    xt, kt = torch.tensor(x, requires_grad=True), torch.tensor(kernel, requires_grad=True)
    ((xt @ kt) * torch.tensor(dy)).sum().backward()
    dx, dk, _ = G.dense(x, dy, kernel)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(dk, kt.grad.numpy(), atol=1e-12)
    x, dy = RNG.standard_normal((4, 2, 2, 3)), RNG.standard_normal((4, 2, 2, 3))
    gamma, beta = RNG.standard_normal(3), RNG.standard_normal(3)
    xt = nchw(x)
    gt, bt = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    y = F.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-3)
    (y * torch.tensor(dy.transpose(0, 3, 1, 2))).sum().backward()
    dx, dg, db = G.batch_norm_training(x, dy, gamma, 1e-3)
    np.testing.assert_allclose(dx, back(xt.grad), atol=1e-10)
    np.testing.assert_allclose(dg, gt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(db, bt.grad.numpy(), atol=1e-10)
