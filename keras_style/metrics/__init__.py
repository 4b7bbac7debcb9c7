"""keras_style.metrics: importing this package registers its entries."""
