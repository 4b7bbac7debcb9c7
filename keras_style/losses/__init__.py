"""keras_style.losses: importing this package registers its entries."""
from keras_style.losses import functional  # noqa: E402,F401
from keras_style.losses.perceptual import (  # noqa: E402,F401
    FeatureReconstructionLoss,
    GramStyleLoss,
    MeanStdStyleLoss,
    PerceptualLoss,
    TotalVariationLoss,
)
