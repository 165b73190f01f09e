"""Hugging Face backbones as encoders, one module per modality (extra ``hf``)."""
