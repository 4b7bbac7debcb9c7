"""keras_style.callbacks: importing this package registers its entries."""
