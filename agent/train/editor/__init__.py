"""`dialogpaint finetune-editor`: InstructPix2Pix fine-tuning with diffusers and accelerate."""
