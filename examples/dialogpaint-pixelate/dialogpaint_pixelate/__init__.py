"""dialogpaint-pixelate: a plug-in editing tool, registered under the ``dialogpaint.tools`` entry points."""

from dialogpaint_pixelate.pixelate import Pixelate, PixelateParams

__all__ = ["Pixelate", "PixelateParams"]
