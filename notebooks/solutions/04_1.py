"""Solution of notebook 04, exercise 1: the modulated convolution with demodulation (StyleGAN2 Eq. 1-3)."""
import torch
import torch.nn.functional as F


def modulated_conv(x, weight, styles, demodulate=True):
    """x (N, in, H, W), weight (out, in, k, k), styles (N, in) -> (N, out, H, W)."""
    n, cin, h, w = x.shape
    cout, _, k, _ = weight.shape
    wm = weight[None] * styles[:, None, :, None, None]            # modulate: scale each input channel
    if demodulate:                                                # demodulate: unit norm per output channel
        wm = wm / torch.sqrt(wm.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
    out = F.conv2d(x.reshape(1, n * cin, h, w), wm.reshape(n * cout, cin, k, k), padding=k // 2, groups=n)
    return out.reshape(n, cout, h, w)
