"""keras_style.layers: importing this package registers its entries."""
