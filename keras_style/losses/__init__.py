"""keras_style.losses: importing this package registers its entries."""
