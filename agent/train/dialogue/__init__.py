"""`dialogpaint finetune-dialogue`: supervised LoRA fine-tuning of a chat model on the graph's own protocol."""
