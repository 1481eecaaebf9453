"""The shipped models: extend/ holds the sketch-extension transformer (safetensors,
its config, tokenizer and training record)."""
