"""Dumoulin, Shlens & Kudlur (ICLR 2017): one network, N styles (conditional instance norm)."""
from keras_style.methods.multistyle.multi_style_network import MultiStyleNetwork  # noqa: F401
from keras_style.methods.multistyle.multi_style_transfer import MultiStyleTransfer  # noqa: F401
