"""keras_style.convert: importing this package registers its entries.

``CONVERSIONS`` lists the converters that the weights registry runs on first use for a
package source with ``"convert": <key>`` (``keras_style/weights.py``); each value is
``"module:function"`` with the signature ``convert_file(src, dst, **options)``. They are
imported only when a conversion runs.
"""

CONVERSIONS: dict[str, str] = {
    "onnx_vgg16": "keras_style.convert.onnx_vgg16:convert_file",
    "onnx_arbitrary": "keras_style.convert.onnx_arbitrary:convert_file",
    "onnx_multistyle26": "keras_style.convert.onnx_multistyle:convert_file",
    "ncnn_waifu2x": "keras_style.convert.ncnn:convert_waifu2x_file",
    "ncnn_rrdbnet": "keras_style.convert.ncnn:convert_rrdbnet_file",
}

from keras_style.convert.adain import adain_from_torch  # noqa: E402,F401
from keras_style.convert.style_aware import style_aware_from_tf  # noqa: E402,F401
from keras_style.convert.johnson import johnson_from_torch  # noqa: E402,F401
