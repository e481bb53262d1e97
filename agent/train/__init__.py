"""The training commands, one folder each: policy (train-policy), synth, pairs (make-pairs), editor
(finetune-editor) and dialogue (finetune-dialogue).
"""
