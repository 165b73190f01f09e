"""One module per corpus: ``prepare_<corpus>(root)`` returns a manifest table."""
