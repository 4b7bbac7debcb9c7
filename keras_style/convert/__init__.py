"""keras_style.convert: importing this package registers its entries."""
