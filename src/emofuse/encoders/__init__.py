"""Encoders turn inputs (text, audio, faces) into fixed-size embeddings."""
