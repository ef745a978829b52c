"""What He et al. (2015), "Deep Residual Learning for Image Recognition", publishes about the
models of this zoo: the numbers the tests and the experiments compare ours with."""

from __future__ import annotations

#: Table 1: multiply-adds ("FLOPs") at 224x224, in 10^9.
IMAGENET_GMACS: dict[str, float] = {"resnet18": 1.8, "resnet34": 3.6, "resnet50": 3.8,
                                    "resnet101": 7.6, "resnet152": 11.3}

#: Trainable parameters with the 1000-class head (the paper gives none; torchvision's counts,
#: which the v1 layout without conv biases before BatchNorm reproduces exactly).
IMAGENET_PARAMS: dict[str, int] = {"resnet18": 11_689_512, "resnet34": 21_797_672,
                                   "resnet50": 25_557_032, "resnet101": 44_549_160,
                                   "resnet152": 60_192_808}

#: Table 6: CIFAR-10 parameters in millions (option A shortcuts), as rounded there.
CIFAR_PARAMS_M: dict[str, float] = {"resnet20": 0.27, "resnet32": 0.46, "resnet44": 0.66,
                                    "resnet56": 0.85, "resnet110": 1.7, "resnet1202": 19.4}

#: Table 6: CIFAR-10 test error in percent (ResNet-110: the best of 5 runs).
CIFAR_TEST_ERROR: dict[str, float] = {"resnet20": 8.75, "resnet32": 7.51, "resnet44": 7.17,
                                      "resnet56": 6.97, "resnet110": 6.43, "resnet1202": 7.93}
