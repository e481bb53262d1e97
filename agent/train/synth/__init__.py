"""Self-instruct synthesis: dialogues (`dialogpaint synth`) and edit captions for make-pairs, from a served model."""
