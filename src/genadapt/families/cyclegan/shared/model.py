"""CycleGAN's networks (Zhu et al. 2017, https://arxiv.org/abs/1703.10593, appendix 7.2), sized
by params: a ResNet generator and a PatchGAN discriminator, both with instance normalisation.

Images are (B, C, S, S) in [-1, 1]; the generator's output ends in tanh.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn


@dataclass(frozen=True)
class CycleGANConfig:
    channels: int
    image_size: int
    ngf: int  # generator's first conv channels (doubled at each downsampling)
    ndf: int  # discriminator's first conv channels
    n_downsample: int  # stride-2 convs in the generator (and as many transposed convs back up)
    n_blocks: int  # residual blocks at the generator's bottleneck
    d_layers: int  # stride-2 convs in the discriminator: more layers, larger patches

    def to_dict(self) -> dict:
        return asdict(self)


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3), nn.InstanceNorm2d(width), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3), nn.InstanceNorm2d(width))

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """c7s1-ngf, n_downsample x d(2^k ngf), n_blocks x R, n_downsample x u, c7s1-C + tanh:
    (B, C, S, S) -> (B, C, S, S); S must be divisible by 2^n_downsample."""

    def __init__(self, cfg: CycleGANConfig):
        super().__init__()
        self.cfg = cfg
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(cfg.channels, cfg.ngf, 7), nn.InstanceNorm2d(cfg.ngf), nn.ReLU(True)]
        width = cfg.ngf
        for _ in range(cfg.n_downsample):
            layers += [nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * width), nn.ReLU(True)]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(cfg.n_blocks)]
        for _ in range(cfg.n_downsample):
            layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1),
                       nn.InstanceNorm2d(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, cfg.channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN: C(ndf) without norm, then (d_layers - 1) stride-2 C(2^k ndf) with instance norm, one
    stride-1 conv, and a 1-channel conv: (B, C, S, S) -> (B, 1, P, P) real/fake scores per patch."""

    def __init__(self, cfg: CycleGANConfig):
        super().__init__()
        layers = [nn.Conv2d(cfg.channels, cfg.ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        width = cfg.ndf
        for _ in range(cfg.d_layers - 1):
            layers += [nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.InstanceNorm2d(2 * width), nn.LeakyReLU(0.2, True)]
            width *= 2
        layers += [nn.Conv2d(width, 2 * width, 4, stride=1, padding=1), nn.InstanceNorm2d(2 * width), nn.LeakyReLU(0.2, True),
                   nn.Conv2d(2 * width, 1, 4, stride=1, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
