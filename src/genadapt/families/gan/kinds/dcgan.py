"""DCGAN (Radford et al. 2016): G(z) and D(x) -> real/fake logit, the standard GAN loss."""

from genadapt.families.gan.shared.kind import GANKind

KIND = GANKind()
