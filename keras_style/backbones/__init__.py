"""keras_style.backbones: importing this package registers its entries."""
