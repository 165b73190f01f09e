"""Torch networks trained end to end, and their safetensors + JSON artefacts."""
