"""Training: recipes that fit the bundled models and save self-describing artefacts.

``loop`` (the one fit loop: selection, checkpoints, resume), ``checkpoint``, ``threads``,
``augment`` (face and voice augmentation), ``evaluation`` (holdouts, calibration, metric
dicts); recipes ``face``, ``voice`` (+ ``voice_recipe``, ``voice_data``, ``voice_cv``),
``text`` (+ ``text_data``, ``text_selection``), ``fusion``; ``default`` runs them all.
"""
