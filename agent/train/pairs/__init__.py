"""`dialogpaint make-pairs`: (input image, instruction, edited image) training pairs, as InstructPix2Pix made them."""
