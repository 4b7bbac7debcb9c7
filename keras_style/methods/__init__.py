"""keras_style.methods: importing this package registers its entries."""
